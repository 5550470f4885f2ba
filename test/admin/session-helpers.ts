/** Admin sign-in over HTTP, for the session tests. */
const json = { 'content-type': 'application/json' };

export async function login(url: string, password: string, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/admin/api/login`, { method: 'POST', headers: { ...json, ...headers }, body: JSON.stringify({ password }) });
  const setCookie = res.headers.get('set-cookie') ?? '';
  return { status: res.status, setCookie, cookie: setCookie.split(';')[0]!, body: await res.json(), retryAfter: res.headers.get('retry-after') };
}

/** Status of an admin route opened with this cookie only. */
export const keysWith = (url: string, cookie: string) => fetch(`${url}/admin/api/keys`, { headers: { cookie } }).then((r) => r.status);
