// Hash routing: `#/tasks?q=web` → { parts: ['tasks'], query }. Every page is a
// plain link, so the back button, bookmarks and keyboard focus all work.
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  readonly parts: readonly string[];
  readonly query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#\/?/, '');
  const [path = '', search = ''] = raw.split('?', 2);
  return {
    parts: path
      .split('/')
      .filter((p) => p !== '')
      .map(decodeURIComponent),
    query: new URLSearchParams(search),
  };
}

export function href(parts: readonly string[], query?: Record<string, string>): string {
  const search = query === undefined ? '' : new URLSearchParams(query).toString();
  return `#/${parts.map(encodeURIComponent).join('/')}${search === '' ? '' : `?${search}`}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseHash(location.hash));
    addEventListener('hashchange', onChange);
    return () => removeEventListener('hashchange', onChange);
  }, []);
  return route;
}

/** Replaces the query of the current route without a new history entry (search boxes). */
export function replaceQuery(route: Route, query: Record<string, string>): void {
  const kept = Object.fromEntries(Object.entries(query).filter(([, v]) => v !== ''));
  history.replaceState(null, '', href(route.parts, kept));
}
