"""Scale-out on Redis: delivery across nodes, run control, node liveness."""
