"""`make sandbox`: run the sandbox in the foreground until Ctrl-C (or SIGTERM)."""

from __future__ import annotations

import sys
import time

from . import processes, start


def main() -> int:
    processes.foreground()
    began = time.monotonic()
    try:
        with start() as sandbox:
            print(f"sandbox up in {time.monotonic() - began:.1f}s")
            print(f"  kube-apiserver  {sandbox.kube.url}")
            print(f"  edge influxd    {sandbox.edge.url}  org={sandbox.edge.org} bucket={sandbox.edge.bucket}")
            print(f"  cloud influxd   {sandbox.cloud.url}  org={sandbox.cloud.org} bucket={sandbox.cloud.bucket}")
            print(f"  description     {sandbox.description} (holds the tokens; mode 0600)")
            print(f"  export KUBECONFIG={sandbox.kube.kubeconfig}")
            print("Ctrl-C to stop.", flush=True)
            while True:
                time.sleep(3600)
    except KeyboardInterrupt:
        pass
    print("sandbox stopped, files removed", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
