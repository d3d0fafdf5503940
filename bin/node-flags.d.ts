/** The Node flags on the `#!` line of a launcher (a file URL or path); [] without any. */
export function launcherNodeFlags(launcher: string | URL): string[];
