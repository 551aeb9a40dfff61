"""Deployments: model server replicas (docker or process backend) behind a stable gateway.

    deployments.py   blue/green, rollback, undeploy, supervision (the use cases)
    backend.py       the port every backend implements, and the replica it returns
    process.py       ProcessBackend: the server as a local process
    docker.py        DockerBackend: the server in a container (image.py builds the image)
    gateway.py       the stable endpoint: proxy, traffic switch, auto-rollback watch
    haproxy.py       HAProxy as the endpoint's data path: its config, runtime API commands
    haproxy_gateway.py  the gateway with an HAProxy child carrying the traffic
    control.py       the gateway from outside: start it on a bound socket, steer it, stop it
    events.py        deployment events as sentences (for the CLI and the TUI)
    policy.py        the watch policy and routes

See docs/deployments.md.
"""
