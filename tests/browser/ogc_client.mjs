// @camptocamp/ogc-client (the library behind GeoNetwork-UI) against a running Vigil: lists the
// feature collections, reads each one's description and its first page of items, as GeoNetwork
// would. Usage: node ogc_client.mjs BASE_URL TOKEN. Prints a JSON summary; exits 1 on any error.
import { OgcApiEndpoint, setFetchOptions } from '@camptocamp/ogc-client';

const [base, token] = process.argv.slice(2);
if (!base || !token) {
  console.error('usage: node ogc_client.mjs BASE_URL TOKEN');
  process.exit(2);
}
setFetchOptions({ headers: { Authorization: `Bearer ${token}` } });

try {
  const endpoint = new OgcApiEndpoint(`${base.replace(/\/$/, '')}/`);
  const info = await endpoint.info;
  const conformance = await endpoint.conformanceClasses;
  const collections = await endpoint.featureCollections;
  const out = { title: info.title, conformance: conformance.length, collections, items: {}, queryables: {} };
  for (const id of collections) {
    const c = await endpoint.getCollectionInfo(id);
    out.queryables[id] = (c.queryables || []).map((q) => q.name).sort();
    const items = await endpoint.getCollectionItems(id, 5, 0);
    out.items[id] = items.length;
  }
  console.log(JSON.stringify(out));
} catch (e) {
  console.error(`ogc-client failed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
}
