"""One Powertools Router per resource; ``api.handler`` registers each when a request reaches it."""
