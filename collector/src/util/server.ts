// Small helpers for components that serve HTTP.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Binds a server, rejecting on EADDRINUSE and the like instead of crashing the process. */
export function listen(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** Stops accepting, waits for requests in flight, then drops idle keep-alive connections. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  });
}

/** `http://host:port` of a listening server (0.0.0.0 shown as 127.0.0.1, so the URL is usable). */
export function serverUrl(server: Server): string {
  const a = server.address() as AddressInfo;
  const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address.includes(':') ? `[${a.address}]` : a.address;
  return `http://${host}:${a.port}`;
}
