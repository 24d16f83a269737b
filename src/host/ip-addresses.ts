import { networkInterfaces } from 'node:os';

/** IPv4 addresses of this host without prefix length, loopback excluded (the original parsed `ip a`). */
export function hostIpAddresses(): string[] {
  const out: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.address.startsWith('127.')) out.push(a.address);
  }
  return out;
}
