"""The lab's address plan, shared by traffic.py, label.py and score.py.

Services listen on 127.0.3.1. Benign clients use 127.0.1.x; attack kind N uses 127.0.2.N, so a
flow's label follows from its client address alone."""
import ipaddress

SERVICE_ADDRESS = "127.0.3.1"
BENIGN_NET = ipaddress.ip_network("127.0.1.0/24")
ATTACK_NET = ipaddress.ip_network("127.0.2.0/24")
LOOPBACK = ipaddress.ip_network("127.0.0.0/8")

# Attack kind -> its source address (127.0.2.N); the reverse shell's address is the attacker's
# listener, which the victim (the service host) connects to.
ATTACKS = {
    "portscan": "127.0.2.1",
    "ssh-bruteforce": "127.0.2.2",
    "http-probe": "127.0.2.3",
    "slow-http": "127.0.2.4",
    "exfiltration": "127.0.2.5",
    "reverse-shell": "127.0.2.6",
}
KIND_BY_ADDRESS = {address: kind for kind, address in ATTACKS.items()}


def label_of(src, dst):
    """'benign', an attack kind, or 'unknown' for a flow between src and dst (either may be the
    client: a meter that first saw the reply writes the client as Dst IP)."""
    for address in (src, dst):
        if address in KIND_BY_ADDRESS:
            return KIND_BY_ADDRESS[address]
    for address in (src, dst):
        try:
            if ipaddress.ip_address(address) in BENIGN_NET:
                return "benign"
        except ValueError:
            pass
    return "unknown"


def require_loopback(address):
    """Refuses any address outside 127.0.0.0/8: the lab never sends anywhere else."""
    if ipaddress.ip_address(address) not in LOOPBACK:
        raise SystemExit(f"lab: {address} is not a loopback address; the lab only targets 127.0.0.0/8")
    return address
