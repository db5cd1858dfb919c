"""The right-to-act questions démarches ask (check API, BPF): habilitations and delegations read together."""
