"""One Powertools Router per resource; ``api.handler`` includes them all."""
