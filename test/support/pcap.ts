/**
 * Minimal pcap writer for analyser checks: each record is an IPv4 packet (LINKTYPE_IPV4,
 * 228) carrying UDP. The IPv4 header checksum is computed; the UDP checksum is 0, which
 * IPv4 allows (RFC 768).
 */
import { writeFileSync } from 'node:fs';

export interface UdpDatagram {
  readonly src: string;
  readonly dst: string;
  readonly sport: number;
  readonly dport: number;
  readonly payload: Buffer;
}

const LINKTYPE_IPV4 = 228;

function ipv4(addr: string): Buffer {
  const parts = addr.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`bad IPv4 ${addr}`);
  return Buffer.from(parts);
}

function checksum(b: Buffer): number {
  let s = 0;
  for (let i = 0; i < b.length; i += 2) s += b.readUInt16BE(i);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export function udpPacket(d: UdpDatagram, id = 0): Buffer {
  const udpLen = 8 + d.payload.length;
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + udpLen, 2);
  ip.writeUInt16BE(id & 0xffff, 4);
  ip[8] = 64;
  ip[9] = 17;
  ipv4(d.src).copy(ip, 12);
  ipv4(d.dst).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(d.sport, 0);
  udp.writeUInt16BE(d.dport, 2);
  udp.writeUInt16BE(udpLen, 4);
  return Buffer.concat([ip, udp, d.payload]);
}

export function pcapFile(datagrams: readonly UdpDatagram[]): Buffer {
  const header = Buffer.alloc(24);
  header.writeUInt32LE(0xa1b2c3d4, 0);
  header.writeUInt16LE(2, 4);
  header.writeUInt16LE(4, 6);
  header.writeUInt32LE(65535, 16);
  header.writeUInt32LE(LINKTYPE_IPV4, 20);
  const records = datagrams.map((d, i) => {
    const pkt = udpPacket(d, i + 1);
    const rec = Buffer.alloc(16);
    rec.writeUInt32LE(1_700_000_000 + i, 0);
    rec.writeUInt32LE(pkt.length, 8);
    rec.writeUInt32LE(pkt.length, 12);
    return Buffer.concat([rec, pkt]);
  });
  return Buffer.concat([header, ...records]);
}

export function writePcap(path: string, datagrams: readonly UdpDatagram[]): void {
  writeFileSync(path, pcapFile(datagrams));
}
