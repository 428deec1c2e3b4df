"""The benchmarks' light load generator and measurement: raw protocol clients (Tidings over
WebSocket, XMPP over TCP) in several processes, paced to an offered rate, and CPU per message of
every server process from /proc. The entry points are tests/bench/c2c.py, group.py and
peers.py; docs/BENCHMARKS.md describes the method.

- ws.py, tidings.py, xmpp.py: the clients; tally.py: what they count;
- worker.py, pool.py: the generator processes and the parent's side of them;
- shapes.py: the 1:1, saturation and group shapes, the same for every server;
- procstat.py: /proc CPU sampling; floor.py: the broker floor; stackctl.py: the stack and app;
- report.py: Markdown tables; options.py: command lines; wscost.py: the WS client's cost.
"""
