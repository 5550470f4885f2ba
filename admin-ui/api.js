// The admin API client: same-origin fetch with the session cookie; errors arrive in the OpenAI
// envelope and are thrown as ApiError (status, code, param, message).

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || null;
    this.param = e.param || null;
  }
  /** The route does not exist in this build (another part of the server is not there yet). */
  get missingRoute() {
    return this.status === 404 && /^Unknown route/.test(this.message);
  }
}

const listeners = new Set();
/** Called with no arguments when the session is gone (401): the app shows the login form. */
export const onUnauthorized = (fn) => listeners.add(fn);

export async function api(method, path, body) {
  const res = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    if (res.status === 401 && !path.endsWith('/login')) listeners.forEach((fn) => fn());
    throw err;
  }
  return data;
}
