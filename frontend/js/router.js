/**
 * Hash routing ("#/segments/seg_1"): works from any static host, S3 and CloudFront
 * included, without server rewrites. Routes are patterns with :params.
 */

export function matchRoute(routes, hash) {
  const path = (hash || "").replace(/^#/, "") || "/";
  for (const route of routes) {
    const names = [];
    const regex = new RegExp(`^${route.pattern.replace(/:[a-z_]+/g, (name) => {
      names.push(name.slice(1));
      return "([^/]+)";
    })}/?$`);
    const found = path.match(regex);
    if (found) {
      const params = Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { route, params };
    }
  }
  return null;
}
