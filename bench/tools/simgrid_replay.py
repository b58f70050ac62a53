#!/usr/bin/env python3
"""
Replay geobed's messages through SimGrid's pure max-min network model (the
oracle of test/net/simgrid.test.ts).

Input (argv[1], JSON, written by bench/tools/simgrid.ts): the directed links
(bandwidth over time, in bytes/s), and the messages (source, destination,
the links they cross, size, and when their first byte left in geobed).
Output (argv[2], JSON): when each message's last byte left in SimGrid, and
SimGrid's own wall time.

The model is CM02 made pure max-min: latency factor 1, bandwidth factor 1,
weight-S 0, no cross traffic, TCP-gamma 0, and optim Full (the Lazy update
mis-shares flows that start together with the same nonzero latency). Links
have no latency: geobed adds a route's delay after the last byte, outside
the sharing. Two quirks of CM02 are worked around:
  - a communication's rate is bounded by its route's smallest bandwidth at
    its start (NetworkCm02Model::comm_action_set_bounds), so a link that
    speeds up later would not speed it up. With TCP-gamma 0 and a nonzero
    latency the bound becomes min(bound, 0 / (2 latency)) = 0, which the
    solver reads as "no bound" (comm_action_set_variable): every route gets
    a private first link of 1e-12 s latency (never shared, never a
    bottleneck), and every flow the same 1e-12 s penalty, so equal shares
    (3 MB over 1 MB/s that becomes 4 MB/s at 0.5 s: 3.0 s without that
    link, 1.125 s with it, as max-min says);
  - only one bandwidth profile can be set from Python, so the platform is
    written as XML with a bandwidth_file per link (named relative to the
    platform file: SimGrid 3.32 does not find absolute paths there).
"""
import json
import os
import sys
import time

from simgrid import Actor, Comm, Engine, Host, this_actor

PRIVATE_LATENCY_S = 1e-12


def number(x):
    """A float as text that reads back to the same double."""
    return repr(float(x))


def write_platform(case, folder):
    """The platform XML (and one bandwidth profile per link) in `folder`; returns its path."""
    lines = [
        "<?xml version='1.0'?>",
        '<!DOCTYPE platform SYSTEM "https://simgrid.org/simgrid.dtd">',
        '<platform version="4.1">',
        '<zone id="world" routing="Full">',
    ]
    for v in range(case["nodes"]):
        lines.append(f'  <host id="h{v}" speed="1Gf"/>')
    fastest = 1.0
    for i, link in enumerate(case["links"]):
        profile = os.path.join(folder, f"link{i}.profile")
        with open(profile, "w") as f:
            for t, bps in link["bandwidth"]:
                f.write(f"{number(t)} {number(bps)}\n")
                fastest = max(fastest, bps)
        first = link["bandwidth"][0][1]
        lines.append(f'  <link id="l{i}" bandwidth="{number(first)}Bps" latency="0s" bandwidth_file="{os.path.basename(profile)}"/>')
    pairs = sorted({(m["from"], m["to"]): m["route"] for m in case["messages"]}.items())
    for (src, dst), route in pairs:
        lines.append(f'  <link id="p{src}_{dst}" bandwidth="{number(fastest * 1e6)}Bps" latency="{PRIVATE_LATENCY_S}s"/>')
    for (src, dst), route in pairs:
        hops = "".join(f'<link_ctn id="l{l}"/>' for l in route)
        lines.append(f'  <route src="h{src}" dst="h{dst}" symmetrical="NO"><link_ctn id="p{src}_{dst}"/>{hops}</route>')
    lines += ["</zone>", "</platform>"]
    path = os.path.join(folder, "platform.xml")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    folder = os.path.dirname(os.path.abspath(sys.argv[1]))
    platform = write_platform(case, folder)
    engine = Engine([
        "geobed-replay",
        "--cfg=network/model:CM02",
        "--cfg=network/optim:Full",
        "--cfg=network/latency-factor:1",
        "--cfg=network/bandwidth-factor:1",
        "--cfg=network/weight-S:0",
        "--cfg=network/crosstraffic:0",
        "--cfg=network/TCP-gamma:0",
        "--log=root.thres:critical",
    ])
    engine.load_platform(platform)
    messages = case["messages"]
    hosts = [Host.by_name(f"h{v}") for v in range(case["nodes"])]
    comms = [None] * len(messages)
    order = sorted(range(len(messages)), key=lambda i: messages[i]["start"])

    def replay():
        # one actor starts every message at its time (an actor per message would be a thread each)
        for i in order:
            m = messages[i]
            this_actor.sleep_until(m["start"])
            comms[i] = Comm.sendto_async(hosts[m["from"]], hosts[m["to"]], m["size"])
        Comm.wait_all(comms)

    Actor.create("replay", hosts[0], replay)
    started = time.perf_counter()
    engine.run()
    wall = time.perf_counter() - started
    with open(sys.argv[2], "w") as f:
        json.dump({"ends": [c.finish_time for c in comms], "wallS": wall}, f)


if __name__ == "__main__":
    main()
