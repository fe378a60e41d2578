"""One router per resource; `gateway.app` mounts them all."""
