// No imports on purpose: tracing.ts loads this before the instrumentations patch node:http.
/** A failure caused by the request's input, with the response it gets (status, code, message). */
export interface InputFault {
  status: 400;
  code: string;
  message: string;
  headers: Record<string, string>;
}

/**
 * Failures that hostile input causes in code that never meant to throw, answered as the client's
 * fault rather than a 500 (which would page someone and hide the request that did it):
 * - URIError: decodeURIComponent / decodeURI on a malformed percent-escape (`/%E0%A4%A`) or on
 *   escaped bytes that are not UTF-8;
 * - RangeError "Maximum call stack size exceeded": input nested deeply enough that recursive code
 *   (JSON.stringify, validators, loggers) ran out of stack.
 * The exception is still recorded on the span and the access line says what it was.
 */
export function inputFault(err: unknown): InputFault | undefined {
  if (err instanceof URIError) {
    return { status: 400, code: 'malformed_uri', message: 'the request has a malformed percent-encoding or escapes bytes that are not UTF-8', headers: {} };
  }
  if (err instanceof RangeError && err.message.includes('call stack')) {
    return { status: 400, code: 'input_too_deep', message: 'the request input is nested too deeply to process', headers: {} };
  }
  return undefined;
}
