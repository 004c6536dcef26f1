import { contentType, type Route } from '../http.js';
import { DASHBOARD_ASSETS } from './assets.js';

/** The built-in dashboard's routes ('/' redirects to /index.html). */
export function dashboardRoutes(): Route[] {
  return Object.entries(DASHBOARD_ASSETS).map(([path, base64]) => {
    const body = Buffer.from(base64, 'base64');
    const type = contentType(path);
    return {
      path,
      handler: (_req, res) => {
        res.writeHead(200, { 'Content-Type': type, 'Content-Length': body.length });
        res.end(body);
      },
    };
  });
}
