"""agent_store.py - the store torchrun's agent hosts, for tests/test_ddp.c.

usage: agent_store.py DIR

Starts a c10d TCPStore server on 127.0.0.1 (a free port) with python3-torch, writes the port to
DIR/port (atomically) and serves until killed, as torchrun's elastic agent does for its workers
(which then connect as clients with TORCHELASTIC_USE_AGENT_STORE=True and put their keys under
/worker/attempt_<TORCHELASTIC_RESTART_COUNT>).
"""
import datetime
import os
import sys
import time

import torch.distributed as dist

store = dist.TCPStore("127.0.0.1", 0, None, True, datetime.timedelta(seconds=60),
                      wait_for_workers=False)
tmp = os.path.join(sys.argv[1], "port.tmp")
with open(tmp, "w") as f:
    f.write(str(store.port))
os.rename(tmp, os.path.join(sys.argv[1], "port"))
while True:
    time.sleep(1)
