import { describe, expect, it } from 'vitest';
import { gateCommand, gsoSegments, htbRate, linkShapingCommands, netemChangeCommands, rateChangeCommand } from '../../src/net/kernel/shaping.js';
import { queueLimit } from '../../src/net/emu/links.js';

const rateOnly = { mbps: 50, delayS: 0, lossPercent: 0, queuePackets: null };
const PEER = '198.18.0.2';
const pairs = [{ src: '198.19.0.0', dst: '198.19.0.2' }, { src: '198.19.0.1', dst: '198.19.0.2' }];

describe('link shaping commands', () => {
  it('fair: the rate on 1:1, a borrowing class and a filter per pair, small packets apart', () => {
    const lines = linkShapingCommands('n2', rateOnly, PEER, pairs, 'fair');
    expect(lines[0]).toBe(gateCommand('n2', true).replace('change', 'add'));
    expect(lines[1]).toBe('qdisc add dev n2 parent 9:1 handle 1: htb default 2');
    expect(lines[2]).toBe(`class add dev n2 parent 1: classid 1:1 htb ${htbRate(50)}`);
    expect(lines.filter((l) => l.startsWith('class add dev n2 parent 1:1 '))).toHaveLength(4); // default, small, 2 pairs
    expect(lines).toContain('filter add dev n2 parent 1: protocol ip prio 3 u32 match ip src 198.19.0.1/32 match ip dst 198.19.0.2/32 flowid 1:11');
    expect(lines).toContain('filter add dev n2 parent 1: protocol ip prio 2 u32 match u16 0 0xff80 at 2 flowid 1:3');
    expect(lines.filter((l) => l.includes('pfifo limit 1000'))).toHaveLength(4);
  });

  it('fifo: one class, one queue of the scenario\'s length', () => {
    expect(linkShapingCommands('n0', { ...rateOnly, queuePackets: 64 }, PEER, pairs, 'fifo')).toEqual([
      'qdisc add dev n0 root handle 9: tbf rate 100gbit burst 262144 limit 1',
      'qdisc add dev n0 parent 9:1 handle 1: htb default 1',
      `class add dev n0 parent 1: classid 1:1 htb ${htbRate(50)}`,
      'qdisc add dev n0 parent 1:1 handle 10: pfifo limit 64',
      'filter add dev n0 parent 1: protocol ip prio 1 u32 match ip dst 198.18.0.2/32 match ip protocol 17 0xff match ip dport 9 0xffff action mirred egress redirect dev lo',
    ]);
  });

  it('delay or loss makes every leaf a netem whose limit covers the bandwidth-delay product', () => {
    const shape = { mbps: 1000, delayS: 0.05, lossPercent: 0.5, queuePackets: null };
    // 1 Gbit/s x 50 ms = 6.25 MB = 4129 frames; twice that
    expect(queueLimit(shape)).toBe(8258);
    const lines = linkShapingCommands('n1', shape, PEER, pairs, 'fifo');
    expect(lines[3]).toBe('qdisc add dev n1 parent 1:1 handle 10: netem limit 8258 delay 50.000ms loss 0.5%');
    expect(queueLimit({ ...shape, queuePackets: 300 })).toBe(300);
  });

  it('a delay or loss that varies: netem leaves from the start (even at 0), each changed in place', () => {
    const shape = { mbps: 10, delayS: 0, maxDelayS: 0.2, lossPercent: 0, queuePackets: null, varies: true };
    // the queue covers the largest delay: 100 Mbit/s x 200 ms = 1652 frames, twice that
    expect(queueLimit({ ...shape, mbps: 100 })).toBe(3304);
    const fair = linkShapingCommands('n1', shape, PEER, pairs, 'fair');
    expect(fair.filter((l) => / netem limit 1000$/.test(l))).toHaveLength(4);
    const leaves = fair.filter((l) => l.includes(' netem ')).map((l) => l.match(/parent (\S+) handle (\S+)/)!.slice(1));
    const changes = netemChangeCommands('n1', { ...shape, delayS: 0.04, lossPercent: 2 }, pairs, 'fair');
    expect(changes.map((l) => l.match(/parent (\S+) handle (\S+)/)!.slice(1))).toEqual(leaves); // every leaf, none missed
    expect(changes[0]).toBe('qdisc change dev n1 parent 1:2 handle 2: netem limit 1000 delay 40.000ms loss 2%');
    expect(netemChangeCommands('n1', shape, pairs, 'fifo')).toEqual(['qdisc change dev n1 parent 1:1 handle 10: netem limit 1000']);
  });

  it('jitter goes to netem as its delay variation', () => {
    const lines = linkShapingCommands('n1', { mbps: 10, delayS: 0.03, jitterS: 0.005, lossPercent: 0, queuePackets: 50 }, PEER, pairs, 'fifo');
    expect(lines[3]).toBe('qdisc add dev n1 parent 1:1 handle 10: netem limit 50 delay 30.000ms 5.000ms');
  });

  it('rates: a 2 ms burst and in-place changes on 1:1; never a rate of 0 (an outage shuts the gate)', () => {
    expect(htbRate(100)).toBe('rate 100000000bit ceil 100000000bit burst 25000 cburst 25000 quantum 1514');
    expect(() => htbRate(0)).toThrow(/gate/);
    expect(rateChangeCommand('n3', 20)).toBe(`class change dev n3 parent 1: classid 1:1 htb ${htbRate(20)}`);
  });

  it('the outage gate: open far above any link rate; shut, its burst holds one frame (a larger one would be dropped, not held)', () => {
    expect(gateCommand('n3', true)).toBe('qdisc change dev n3 root handle 9: tbf rate 100gbit burst 262144 limit 1');
    expect(gateCommand('n3', false)).toBe('qdisc change dev n3 root handle 9: tbf rate 100bit burst 1600 limit 1');
    // a link that starts in an outage: the gate shut from the start, htb at a rate a held packet costs microseconds of
    const lines = linkShapingCommands('n1', { ...rateOnly, mbps: 0 }, PEER, pairs, 'fifo');
    expect(lines[0]).toBe(gateCommand('n1', false).replace('change', 'add'));
    expect(lines[2]).toBe(`class add dev n1 parent 1: classid 1:1 htb ${htbRate(1000)}`);
  });

  it('packets hold a link for at most 125 us: one segment at WAN rates, more at LAN rates', () => {
    expect(gsoSegments(20)).toBe(1);
    expect(gsoSegments(189)).toBe(1);
    expect(gsoSegments(1000)).toBe(10); // 15625 bytes in 125 us
    expect(gsoSegments(100_000)).toBe(64);
    expect(gsoSegments(0)).toBe(1);
  });
});
