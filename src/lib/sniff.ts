/**
 * Content type by magic bytes. A client-declared MIME type (data URI prefix, Content-Type header,
 * file name) is never trusted on its own: what we upload to grok.com under an account must really
 * be the kind of file the part claims to be.
 */

export type AttachmentKind = 'image' | 'audio' | 'file';

const ascii = (b: Buffer, at: number, text: string) => b.length >= at + text.length && b.toString('latin1', at, at + text.length) === text;

/** The MIME type the bytes are, from their signature; undefined when unrecognised. */
export function sniffMime(b: Buffer, nameHint = ''): string | undefined {
  if (b.length >= 8 && b[0] === 0x89 && ascii(b, 1, 'PNG\r\n\x1a\n')) return 'image/png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'image/jpeg';
  if (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a')) return 'image/gif';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WEBP')) return 'image/webp';
  if (ascii(b, 0, 'RIFF') && ascii(b, 8, 'WAVE')) return 'audio/wav';
  if (ascii(b, 0, 'OggS')) return 'audio/ogg';
  if (ascii(b, 0, 'fLaC')) return 'audio/flac';
  if (ascii(b, 0, 'ID3')) return 'audio/mpeg';
  // MPEG audio frame sync (11 set bits) with layer III; ADTS AAC has layer bits 00.
  if (b.length >= 2 && b[0] === 0xff && (b[1]! & 0xe0) === 0xe0 && (b[1]! & 0x06) !== 0) return 'audio/mpeg';
  if (b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3) return 'audio/webm';
  if (ascii(b, 4, 'ftyp')) return /^(M4A |M4B |mp42|isom|dash)/.test(b.toString('latin1', 8, 12)) ? 'audio/mp4' : 'video/mp4';
  if (ascii(b, 0, '%PDF-')) return 'application/pdf';
  if (ascii(b, 0, 'PK\x03\x04')) return officeMime(nameHint);
  if (looksLikeText(b)) return 'text/plain';
  return undefined;
}

/** Office Open XML documents are zip files; the name is the only thing telling them apart. */
function officeMime(name: string): string | undefined {
  const ext = /\.([a-z0-9]+)$/i.exec(name)?.[1]?.toLowerCase();
  if (ext === 'docx') return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
  if (ext === 'xlsx') return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
  if (ext === 'pptx') return 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
  return undefined;
}

/** Valid UTF-8 (a cut last character allowed) without NUL or most control bytes, in the first 8 KiB. */
function looksLikeText(b: Buffer): boolean {
  if (b.length === 0) return false;
  const head = b.subarray(0, 8192);
  for (const byte of head) {
    if (byte === 0 || (byte < 0x20 && byte !== 0x09 && byte !== 0x0a && byte !== 0x0d && byte !== 0x0c && byte !== 0x1b)) return false;
  }
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(head.length < b.length ? trimCut(head) : head);
    return true;
  } catch {
    return false;
  }
}

/** Drops a multi-byte character cut at the end of a prefix. */
function trimCut(b: Buffer): Buffer {
  let end = b.length;
  for (let i = 1; i <= 3 && end - i >= 0; i++) {
    const byte = b[end - i]!;
    if ((byte & 0xc0) === 0x80) continue; // continuation byte
    if (byte >= 0xc0) end -= i; // a lead byte whose sequence may be incomplete
    break;
  }
  return b.subarray(0, end);
}

/** Which sniffed types each part kind accepts. */
export function acceptedFor(kind: AttachmentKind, mime: string): boolean {
  if (kind === 'image') return /^image\/(png|jpeg|gif|webp)$/.test(mime);
  if (kind === 'audio') return mime.startsWith('audio/');
  return mime === 'application/pdf' || mime === 'text/plain' || mime.startsWith('image/') || mime.startsWith('application/vnd.openxmlformats');
}

/** What a kind accepts, for error messages. */
export function acceptedList(kind: AttachmentKind): string {
  if (kind === 'image') return 'PNG, JPEG, GIF or WebP';
  if (kind === 'audio') return 'MP3, WAV, OGG, FLAC, WebM or M4A audio';
  return 'PDF, plain text, an image, or a DOCX/XLSX/PPTX document';
}

const EXT: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/gif': 'gif',
  'image/webp': 'webp',
  'audio/wav': 'wav',
  'audio/ogg': 'ogg',
  'audio/flac': 'flac',
  'audio/mpeg': 'mp3',
  'audio/webm': 'webm',
  'audio/mp4': 'm4a',
  'application/pdf': 'pdf',
  'text/plain': 'txt',
};

/** A file name for grok.com when the client gave none, e.g. `image.png`. */
export function defaultName(kind: AttachmentKind, mime: string): string {
  return `${kind}.${EXT[mime] ?? 'bin'}`;
}
