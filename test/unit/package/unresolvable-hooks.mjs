// ESM loader hooks: any specifier matching one of the patterns given at registration cannot be
// resolved, exactly as if the package were not installed. Used to prove which package entries
// load no OpenTelemetry SDK package.
let forbidden = [];

export function initialize(data) {
  forbidden = data.patterns.map((pattern) => new RegExp(pattern));
}

export async function resolve(specifier, context, nextResolve) {
  if (forbidden.some((pattern) => pattern.test(specifier))) {
    const error = new Error(`Cannot find package '${specifier}' (made unresolvable by the test)`);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return nextResolve(specifier, context);
}
