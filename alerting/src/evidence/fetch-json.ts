// A bounded GET for evidence sources: a timeout per request, a cap on the body, and errors as short
// sentences (they become notes in the message).
const MAX_BODY = 4 * 1024 * 1024;

export class EvidenceFetchError extends Error {
  override name = 'EvidenceFetchError';
}

export async function getJson<T>(url: URL, timeoutMs: number, signal?: AbortSignal): Promise<T> {
  const signals = [AbortSignal.timeout(timeoutMs), ...(signal ? [signal] : [])];
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.any(signals), headers: { accept: 'application/json' } });
  } catch (err) {
    const e = err as Error;
    if (e.name === 'TimeoutError') throw new EvidenceFetchError(`${url.host} did not answer within ${timeoutMs} ms`);
    const cause = e.cause instanceof Error ? `: ${e.cause.message}` : '';
    throw new EvidenceFetchError(`${url.host} unreachable (${e.message}${cause})`);
  }
  const text = await res.text();
  if (text.length > MAX_BODY) throw new EvidenceFetchError(`${url.host} answered more than ${MAX_BODY} bytes`);
  if (!res.ok) throw new EvidenceFetchError(`${url.host}${url.pathname} answered ${res.status}: ${text.slice(0, 200).trim()}`);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new EvidenceFetchError(`${url.host}${url.pathname} answered something other than JSON`);
  }
}
