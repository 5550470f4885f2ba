import type { ChatIntent } from '../../core/intent.js';
import type { UploadedFile, UploadInput } from './upload.js';

/**
 * Uploads every attachment of a turn, in message order, and returns grok.com's file ids in that
 * order. Runs inside the pool's attempt, so the files go up under the leased account (a file id
 * belongs to the account that uploaded it) and an upload failure is classified and retried on
 * another account like the chat call itself. Most turns have no attachment: that path allocates
 * nothing.
 */
export async function uploadAttachments(intent: ChatIntent, upload: (file: UploadInput) => Promise<UploadedFile>): Promise<string[]> {
  let files: UploadInput[] | undefined;
  for (const m of intent.messages) {
    if (m.attachments?.length) (files ??= []).push(...m.attachments);
  }
  if (!files) return [];
  const done = await Promise.all(files.map((f) => upload({ name: f.name, mime: f.mime, data: f.data })));
  return done.map((u) => u.fileId);
}
