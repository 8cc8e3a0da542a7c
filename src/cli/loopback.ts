const LOOPBACK_HOSTS = new Set(['localhost', '[::1]', '::1']);

/** Whether a host name or address is this machine's loopback: nothing sent to it crosses a network. */
export function isLoopback(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname) || /^127(\.\d{1,3}){3}$/.test(hostname);
}
