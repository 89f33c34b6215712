/**
 * attnkit's attention packages. Each registers its ops with core's attention-op registry when imported, so
 * the bench imports every one that is installed (as a dependency of this app) and runs what they register.
 * Computed specifiers keep bundlers and tsc from requiring packages that do not exist yet.
 */
export const ATTENTION_PACKAGES: readonly string[] = [
  '@attnkit/attention-neighborhood',
  '@attnkit/attention-linear',
  '@attnkit/attention-sparse',
];

/** Whether `e` says that `specifier` itself is missing (not one of its own imports). */
export function isMissingPackage(e: unknown, specifier: string): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === 'ERR_MODULE_NOT_FOUND' && (err.message ?? '').includes(`'${specifier}'`);
}

/**
 * Imports every installed attention package; returns one line for the output, e.g.
 * `attention packages: @attnkit/attention-neighborhood (others not installed)`. A package that is installed
 * but fails to load is an error: its ops would silently be missing from the report.
 */
export async function loadAttentionPackages(names: readonly string[] = ATTENTION_PACKAGES): Promise<string> {
  const loaded: string[] = [];
  for (const name of names) {
    try {
      await import(name);
      loaded.push(name);
    } catch (e) {
      if (!isMissingPackage(e, name)) {
        throw new Error(`${name} is installed but failed to load: ${String((e as Error)?.message ?? e)}`);
      }
    }
  }
  if (loaded.length === 0)
    return `attention packages: none installed besides @attnkit/core (tried ${names.join(', ')})`;
  const missing = names.length - loaded.length;
  return `attention packages: ${loaded.join(', ')}${missing > 0 ? ` (${missing} other(s) not installed)` : ''}`;
}
