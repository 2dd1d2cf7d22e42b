//! The OpenAPI 3.0 definition served at `/api`, written out by hand so it says exactly what the
//! handlers accept (a generator would need annotations on every handler for the same result).

use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::extract::RawQuery;
use super::html;
use super::query::{CRS84, EPSG3857, EPSG4326, Format, format};
use crate::hotspots::{Kind, Status};

fn p(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn problem(desc: &str) -> Value {
    json!({ "description": desc, "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

/// The OpenAPI document.
pub fn spec() -> Value {
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.code()).collect();
    let kinds: Vec<&str> = Kind::ALL.iter().map(|k| k.code()).collect();
    let errors = json!({
        "400": problem("Bad request: a malformed parameter or body, named in `detail`"),
        "401": problem("Missing, unknown or revoked token"),
        "404": problem("Not found, or outside your jurisdiction"),
    });
    let mut write_errors = errors.clone();
    for (k, d) in [
        (
            "403",
            "Your role may not do this, or the place is outside your jurisdiction",
        ),
        ("409", "Illegal lifecycle transition"),
        ("412", "If-Match does not match the current version"),
        ("422", "Invalid field values, each named in `errors`"),
    ] {
        write_errors[k] = problem(d);
    }
    let feature_body = json!({ "required": true, "content": { "application/geo+json": { "schema": { "$ref": "#/components/schemas/HotspotFeature" } }, "application/json": { "schema": { "$ref": "#/components/schemas/HotspotFeature" } } } });
    let mut doc = json!({
        "openapi": "3.0.3",
        "info": {
            "title": "Vigil API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "OGC API – Features for the drug-hotspot registry and administrative boundaries, plus Vigil's own endpoints under /v1. Every data endpoint needs `Authorization: Bearer <token>` (or HTTP Basic with your user name and a token or password, for desktop GIS); reads are limited to your jurisdiction.",
            "license": { "name": "MIT" }
        },
        "servers": [{ "url": "/" }],
        "security": [{ "bearer": [] }, { "basic": [] }],
        "paths": {
            "/": { "get": { "summary": "Landing page", "operationId": "getLandingPage", "security": [], "parameters": [p("f")], "responses": { "200": { "description": "Links to the API", "content": { "application/json": {}, "text/html": {} } } } } },
            "/conformance": { "get": { "summary": "Conformance classes", "operationId": "getConformanceDeclaration", "security": [], "parameters": [p("f")], "responses": { "200": { "description": "conformsTo", "content": { "application/json": {} } } } } },
            "/api": { "get": { "summary": "This document", "operationId": "getAPI", "security": [], "parameters": [p("f")], "responses": { "200": { "description": "OpenAPI 3.0", "content": { "application/vnd.oai.openapi+json;version=3.0": {} } } } } },
            "/collections": { "get": { "summary": "Feature collections", "operationId": "getCollections", "parameters": [p("f")], "responses": { "200": { "description": "The collections", "content": { "application/json": {} } }, "401": errors["401"] } } },
            "/collections/{collectionId}": { "get": { "summary": "One collection", "operationId": "describeCollection", "parameters": [p("collectionId"), p("f")], "responses": { "200": { "description": "The collection", "content": { "application/json": {} } }, "401": errors["401"], "404": errors["404"] } } },
            "/collections/{collectionId}/queryables": { "get": { "summary": "What a CQL2 filter may name in this collection (OGC API – Features Part 3), as JSON Schema", "operationId": "getQueryables", "parameters": [p("collectionId")], "responses": { "200": { "description": "Queryables", "content": { "application/schema+json": {} } }, "401": errors["401"], "404": errors["404"] } } },
            "/collections/{collectionId}/tiles": { "get": { "summary": "The collection's vector tile sets (OGC API – Tiles): WebMercatorQuad, Mapbox Vector Tiles", "operationId": "getCollectionTileSets", "parameters": [p("collectionId")], "responses": { "200": { "description": "Tile sets", "content": { "application/json": {} } }, "401": errors["401"], "404": errors["404"] } } },
            "/collections/{collectionId}/tiles/WebMercatorQuad": { "get": { "summary": "The vector tile set's metadata (template, tiling scheme, bounds from the data)", "operationId": "getCollectionTileSet", "parameters": [p("collectionId")], "responses": { "200": { "description": "Tile set", "content": { "application/json": {} } }, "401": errors["401"], "404": errors["404"] } } },
            "/collections/{collectionId}/tiles/WebMercatorQuad/tilejson.json": { "get": { "summary": "TileJSON 3.0.0 of the vector tile set, with vector_layers", "operationId": "getCollectionTileJSON", "parameters": [p("collectionId")], "responses": { "200": { "description": "TileJSON", "content": { "application/json": {} } }, "401": errors["401"], "404": errors["404"] } } },
            "/collections/{collectionId}/tiles/WebMercatorQuad/{tileMatrix}/{tileRow}/{tileCol}": { "get": { "summary": "A Mapbox Vector Tile of what you may see of the collection, with its items' filters (status, kind, class, datetime, commune, province, survey, min_confidence, filter); hotspots above 10 000 in a tile come as counts per cell", "operationId": "getCollectionTile", "parameters": [p("collectionId"), { "name": "tileMatrix", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0, "maximum": 24 } }, { "name": "tileRow", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }, { "name": "tileCol", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }, p("status"), p("kind"), p("datetime"), p("commune"), p("province"), p("filter"), p("filter-lang"), p("filter-crs")], "responses": { "200": { "description": "The tile", "content": { "application/vnd.mapbox-vector-tile": {} } }, "400": errors["400"], "401": errors["401"], "404": errors["404"] } } },
            "/collections/{collectionId}/schema": { "get": { "summary": "The collection's filterable properties as JSON Schema (the same as queryables)", "operationId": "getSchema", "parameters": [p("collectionId")], "responses": { "200": { "description": "Schema", "content": { "application/schema+json": {} } }, "401": errors["401"], "404": errors["404"] } } },
            "/collections/{collectionId}/items": {
                "get": {
                    "summary": "Features of a collection",
                    "operationId": "getFeatures",
                    "parameters": [p("collectionId"), p("bbox"), p("bbox-crs"), p("crs"), p("datetime"), p("limit"), p("after"), p("offset"), p("status"), p("kind"), p("commune"), p("province"), p("filter"), p("filter-lang"), p("filter-crs"), p("f")],
                    "responses": { "200": { "description": "A page of features", "content": { "application/geo+json": { "schema": { "$ref": "#/components/schemas/FeatureCollection" } }, "text/html": {} } }, "400": errors["400"], "401": errors["401"], "404": errors["404"] }
                },
                "post": {
                    "summary": "Create a hotspot (collection `hotspots` only; analyst or admin)",
                    "operationId": "createFeature",
                    "parameters": [p("collectionId")],
                    "requestBody": feature_body,
                    "responses": { "201": { "description": "Created; Location names it", "headers": { "Location": { "schema": { "type": "string" } }, "ETag": { "schema": { "type": "string" } } } }, "400": write_errors["400"], "401": write_errors["401"], "403": write_errors["403"], "422": write_errors["422"] }
                }
            },
            "/collections/{collectionId}/items/{featureId}": {
                "get": { "summary": "One feature", "operationId": "getFeature", "parameters": [p("collectionId"), p("featureId"), p("crs"), p("f")], "responses": { "200": { "description": "The feature", "headers": { "ETag": { "schema": { "type": "string" } } }, "content": { "application/geo+json": {} } }, "401": errors["401"], "404": errors["404"] } },
                "put": { "summary": "Replace a hotspot", "operationId": "replaceFeature", "parameters": [p("collectionId"), p("featureId"), p("If-Match")], "requestBody": feature_body, "responses": { "200": { "description": "Replaced" }, "401": write_errors["401"], "403": write_errors["403"], "404": write_errors["404"], "409": write_errors["409"], "412": write_errors["412"], "422": write_errors["422"] } },
                "patch": { "summary": "Update a hotspot (JSON Merge Patch)", "operationId": "updateFeature", "parameters": [p("collectionId"), p("featureId"), p("If-Match")], "requestBody": { "required": true, "content": { "application/merge-patch+json": { "schema": { "type": "object" } }, "application/json": { "schema": { "type": "object" } } } }, "responses": { "200": { "description": "Updated" }, "401": write_errors["401"], "403": write_errors["403"], "404": write_errors["404"], "409": write_errors["409"], "412": write_errors["412"], "422": write_errors["422"] } },
                "delete": { "summary": "Delete a hotspot (kept with its history for the record)", "operationId": "deleteFeature", "parameters": [p("collectionId"), p("featureId"), p("If-Match")], "responses": { "204": { "description": "Deleted" }, "401": write_errors["401"], "403": write_errors["403"], "404": write_errors["404"], "412": write_errors["412"] } }
            },
            "/v1/hotspots/{id}/transitions": { "post": { "summary": "Move a hotspot along its lifecycle", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } }, p("If-Match")], "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Transition" } } } }, "responses": { "200": { "description": "The hotspot after the change" }, "401": write_errors["401"], "403": write_errors["403"], "404": write_errors["404"], "409": write_errors["409"], "412": write_errors["412"], "422": write_errors["422"] } } },
            "/v1/hotspots/{id}/history": { "get": { "summary": "A hotspot's dated, attributed status history", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } }], "responses": { "200": { "description": "Events, oldest first" }, "401": errors["401"], "404": errors["404"] } } },
            "/v1/import/hotspots": { "post": { "summary": "Bulk import (CSV, GeoJSON, KML), all or nothing", "parameters": [{ "name": "format", "in": "query", "schema": { "type": "string", "enum": ["csv", "geojson", "kml"] } }, { "name": "crs", "in": "query", "description": "CRS of the coordinates, e.g. EPSG:3405 (VN-2000 / UTM 48N) or a PROJ string; default WGS 84", "schema": { "type": "string" } }, { "name": "name", "in": "query", "schema": { "type": "string" } }], "requestBody": { "required": true, "content": { "text/csv": {}, "application/geo+json": {}, "application/vnd.google-earth.kml+xml": {} } }, "responses": { "200": { "description": "Imported count" }, "400": write_errors["400"], "403": write_errors["403"], "413": problem("Too large"), "422": write_errors["422"] } } },
            "/v1/auth/login": { "post": { "summary": "Check a token and return the user (web map login)", "security": [], "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["token"], "properties": { "token": { "type": "string" } } } } } }, "responses": { "200": { "description": "The user" }, "401": errors["401"] } } },
            "/v1/me": { "get": { "summary": "The current user", "responses": { "200": { "description": "The user" }, "401": errors["401"] } } },
            "/v1/vocab": { "get": { "summary": "Kinds, statuses (with labels and colours) and allowed transitions", "responses": { "200": { "description": "Vocabulary" } } } },
            "/v1/audit": { "get": { "summary": "The audit log (admins)", "parameters": [{ "name": "entity", "in": "query", "schema": { "type": "string" } }, { "name": "entity_id", "in": "query", "schema": { "type": "string" } }, { "name": "before", "in": "query", "schema": { "type": "integer" } }, { "name": "limit", "in": "query", "schema": { "type": "integer" } }], "responses": { "200": { "description": "Entries, newest first" }, "403": write_errors["403"] } } },
            "/v1/users": { "get": { "summary": "Users (admins)", "responses": { "200": { "description": "Users" }, "403": write_errors["403"] } } },
            "/v1/uploads": { "post": { "summary": "Start a resumable upload of a survey file (operator or admin)", "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["filename", "size", "sha256"], "additionalProperties": false, "properties": { "filename": { "type": "string" }, "size": { "type": "integer" }, "sha256": { "type": "string" }, "content_type": { "type": "string" } } } } } }, "responses": { "201": { "description": "The session: chunk size, received and missing chunks" }, "403": problem("Not an operator or admin"), "413": problem("Over the size limit or the user's quota"), "422": problem("Invalid field") } } },
            "/v1/uploads/{id}": {
                "get": { "summary": "Upload status: received and missing chunks", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "Status" }, "404": problem("Not found or not yours") } },
                "delete": { "summary": "Cancel an upload and remove its part file", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "Cancelled" }, "404": problem("Not found or not yours"), "409": problem("The source of a live survey") } }
            },
            "/v1/uploads/{id}/chunks/{n}": { "put": { "summary": "Send chunk n (any order; identical retries are idempotent)", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }, { "name": "n", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 0 } }], "requestBody": { "required": true, "content": { "application/octet-stream": {} } }, "responses": { "200": { "description": "Stored (fsynced) and recorded" }, "409": problem("A different chunk n was already received"), "422": problem("Wrong length or index") } } },
            "/v1/uploads/{id}/commit": { "post": { "summary": "Verify the whole file's SHA-256 and store it", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "Committed" }, "409": problem("Chunks missing (listed)"), "422": problem("Checksum mismatch") } } },
            "/v1/surveys": {
                "get": { "summary": "Surveys you may see, newest first, in every state", "responses": { "200": { "description": "{\"surveys\": [...]}" } } },
                "post": { "summary": "Queue a committed upload for ingest (operator or admin)", "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["upload"], "additionalProperties": false, "properties": { "upload": { "type": "string" }, "name": { "type": "string" }, "acquired_at": { "type": "string", "format": "date-time" }, "bands": { "type": "string", "example": "red,green,blue,nir" } } } } } }, "responses": { "202": { "description": "Queued; poll the Location" }, "403": write_errors["403"], "404": problem("No such upload of yours"), "409": problem("Not committed, or already a survey"), "422": problem("Invalid field") } }
            },
            "/v1/surveys/{id}": { "get": { "summary": "A survey: state, progress 0-100, stage, per-stage seconds, error code and message", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "The survey" }, "404": problem("Not found or outside your jurisdiction") } } },
            "/v1/surveys/{id}/cancel": { "post": { "summary": "Cancel a queued or running ingest (its operator or an admin)", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "Cancelled or cancelling" }, "409": problem("Already finished") } } },
            "/v1/surveys/{id}/source": { "get": { "summary": "The original orthomosaic", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "image/tiff" }, "404": problem("Not found") } } },
            "/tiles/{survey}/{z}/{x}/{y}.{format}": { "get": { "summary": "A survey's XYZ tile (WebMercatorQuad, 256 px)", "parameters": [{ "name": "survey", "in": "path", "required": true, "schema": { "type": "string" } }, { "name": "z", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "x", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "y", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "format", "in": "path", "required": true, "schema": { "type": "string", "enum": ["png", "webp"] } }], "responses": { "200": { "description": "The tile (ETag; If-None-Match gives 304)" }, "204": { "description": "Nothing there" }, "404": problem("No such survey or tile") } } },
            "/tiles/{survey}/tilejson.json": { "get": { "summary": "TileJSON 3.0.0 of a survey", "parameters": [{ "name": "survey", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "TileJSON" } } } },
            "/tiles/mosaic/{z}/{x}/{y}.{format}": { "get": { "summary": "Every visible survey stacked newest on top", "parameters": [{ "name": "z", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "x", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "y", "in": "path", "required": true, "schema": { "type": "integer" } }, { "name": "format", "in": "path", "required": true, "schema": { "type": "string", "enum": ["png", "webp"] } }, { "name": "datetime", "in": "query", "required": false, "description": "Acquisition date interval, e.g. 2026-01-01/2026-03-01", "schema": { "type": "string" } }], "responses": { "200": { "description": "The tile" }, "204": { "description": "Nothing there" } } } },
            "/tiles/mosaic/tilejson.json": { "get": { "summary": "TileJSON 3.0.0 of the mosaic", "responses": { "200": { "description": "TileJSON" } } } },
            "/stac": { "get": { "summary": "STAC API landing page (STAC API 1.0.0: core, collections, ogcapi-features, item-search)", "responses": { "200": { "description": "Catalog with conformsTo and links" } } } },
            "/stac/conformance": { "get": { "summary": "STAC API conformance classes", "responses": { "200": { "description": "conformsTo" } } } },
            "/stac/collections": { "get": { "summary": "STAC Collections (one: vigil-surveys)", "responses": { "200": { "description": "Collections" } } } },
            "/stac/collections/{cid}": { "get": { "summary": "The STAC Collection of surveys you may see (extent and summaries from them)", "parameters": [{ "name": "cid", "in": "path", "required": true, "schema": { "type": "string", "enum": ["vigil-surveys"] } }], "responses": { "200": { "description": "Collection" }, "404": problem("Not found") } } },
            "/stac/collections/{cid}/items": { "get": { "summary": "STAC Items of the surveys you may see, paged", "parameters": [{ "name": "cid", "in": "path", "required": true, "schema": { "type": "string" } }, { "$ref": "#/components/parameters/bbox" }, { "$ref": "#/components/parameters/datetime" }, { "$ref": "#/components/parameters/limit" }, { "name": "token", "in": "query", "required": false, "description": "Paging token from a rel=next link", "schema": { "type": "string" } }], "responses": { "200": { "description": "ItemCollection with numberMatched/numberReturned" }, "400": problem("Bad query") } } },
            "/stac/collections/{cid}/items/{id}": { "get": { "summary": "A survey as a STAC Item (projection, eo and raster extensions; assets: source, tiles, footprint)", "parameters": [{ "name": "cid", "in": "path", "required": true, "schema": { "type": "string" } }, { "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "Item" }, "404": problem("Not found") } } },
            "/stac/search": {
                "get": { "summary": "STAC item search", "parameters": [{ "$ref": "#/components/parameters/bbox" }, { "name": "intersects", "in": "query", "required": false, "description": "A GeoJSON geometry (lon/lat) the footprint must meet; not with bbox", "schema": { "type": "string" } }, { "$ref": "#/components/parameters/datetime" }, { "name": "ids", "in": "query", "required": false, "description": "Comma-separated item ids", "schema": { "type": "string" } }, { "name": "collections", "in": "query", "required": false, "description": "Comma-separated collection ids", "schema": { "type": "string" } }, { "$ref": "#/components/parameters/limit" }, { "name": "token", "in": "query", "required": false, "description": "Paging token from a rel=next link", "schema": { "type": "string" } }], "responses": { "200": { "description": "ItemCollection" }, "400": problem("Bad query") } },
                "post": { "summary": "STAC item search with a JSON body (bbox, intersects, datetime, ids, collections, limit, token; other members are refused)", "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "properties": { "bbox": { "type": "array", "items": { "type": "number" } }, "intersects": { "type": "object" }, "datetime": { "type": "string" }, "ids": { "type": "array", "items": { "type": "string" } }, "collections": { "type": "array", "items": { "type": "string" } }, "limit": { "type": "integer", "minimum": 1 }, "token": { "type": "string" } } } } } }, "responses": { "200": { "description": "ItemCollection; rel=next carries the POST body to send" }, "400": problem("Bad body") } }
            },
            "/stac/items": { "get": { "summary": "STAC Items of the surveys you may see (the same as /stac/collections/vigil-surveys/items)", "parameters": [{ "$ref": "#/components/parameters/bbox" }, { "$ref": "#/components/parameters/datetime" }, { "$ref": "#/components/parameters/limit" }, { "name": "token", "in": "query", "required": false, "schema": { "type": "string" } }], "responses": { "200": { "description": "ItemCollection" } } } },
            "/stac/items/{id}": { "get": { "summary": "A survey as a STAC Item (the same as /stac/collections/vigil-surveys/items/{id})", "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }], "responses": { "200": { "description": "Item" }, "404": problem("Not found") } } },
            "/healthz": { "get": { "summary": "Liveness and store health", "security": [], "responses": { "200": { "description": "ok" }, "503": { "description": "The store does not answer" } } } }
        },
        "components": {
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "description": "A token from `vigil user add`" }, "basic": { "type": "http", "scheme": "basic", "description": "For desktop GIS (QGIS, ArcGIS Pro): your user name, and as the password an access token or your web-map password; failures count towards the login lock-out" } },
            "parameters": {
                "f": { "name": "f", "in": "query", "required": false, "schema": { "type": "string", "enum": ["json", "html"] } },
                "collectionId": { "name": "collectionId", "in": "path", "required": true, "schema": { "type": "string", "enum": ["hotspots", "communes", "provinces", "surveys", "flags"] } },
                "featureId": { "name": "featureId", "in": "path", "required": true, "schema": { "type": "string" } },
                "bbox": { "name": "bbox", "in": "query", "required": false, "style": "form", "explode": false, "schema": { "type": "array", "minItems": 4, "maxItems": 6, "items": { "type": "number" } } },
                "bbox-crs": { "name": "bbox-crs", "in": "query", "required": false, "schema": { "type": "string", "enum": [CRS84, EPSG4326, EPSG3857] } },
                "crs": { "name": "crs", "in": "query", "required": false, "schema": { "type": "string", "enum": [CRS84, EPSG4326, EPSG3857] } },
                "datetime": { "name": "datetime", "in": "query", "required": false, "description": "An instant or an interval `start/end` (`..` or empty for an open end). Each end may be a date (`2025-01-01`), a date with a trailing `T` as GDAL sends it (`2025-01-01T`), or an RFC 3339 date-time (`2025-01-01T08:00:00+07:00`). Hotspots: on `reported_on`, by the date as written; surveys and flags: on the acquisition time (a bare date is that whole day, UTC); communes and provinces have no time and match any interval", "schema": { "type": "string" } },
                "limit": { "name": "limit", "in": "query", "required": false, "schema": { "type": "integer", "minimum": 1, "maximum": 10000, "default": 100 } },
                "after": { "name": "after", "in": "query", "required": false, "description": "Paging cursor for hotspots (from the `next` link)", "schema": { "type": "integer" } },
                "offset": { "name": "offset", "in": "query", "required": false, "description": "Paging offset for boundaries (from the `next` link)", "schema": { "type": "integer", "minimum": 0 } },
                "status": { "name": "status", "in": "query", "required": false, "style": "form", "explode": false, "schema": { "type": "array", "items": { "type": "string", "enum": statuses } } },
                "kind": { "name": "kind", "in": "query", "required": false, "style": "form", "explode": false, "schema": { "type": "array", "items": { "type": "string", "enum": kinds } } },
                "commune": { "name": "commune", "in": "query", "required": false, "schema": { "type": "string" } },
                "province": { "name": "province", "in": "query", "required": false, "schema": { "type": "string" } },
                "filter": { "name": "filter", "in": "query", "required": false, "description": "A CQL2 filter over the collection's queryables (/collections/{collectionId}/queryables): AND, OR, NOT, comparisons, LIKE, BETWEEN, IN, IS NULL, S_INTERSECTS/S_DISJOINT/S_WITHIN/S_CONTAINS, T_INTERSECTS/T_DISJOINT/T_BEFORE/T_AFTER/T_DURING", "schema": { "type": "string" } },
                "filter-lang": { "name": "filter-lang", "in": "query", "required": false, "schema": { "type": "string", "enum": ["cql2-text", "cql2-json"], "default": "cql2-text" } },
                "filter-crs": { "name": "filter-crs", "in": "query", "required": false, "schema": { "type": "string", "enum": ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"] } },
                "If-Match": { "name": "If-Match", "in": "header", "required": false, "description": "The ETag (version) you last read", "schema": { "type": "string" } }
            },
            "schemas": {
                "Problem": { "type": "object", "properties": { "type": { "type": "string" }, "title": { "type": "string" }, "status": { "type": "integer" }, "detail": { "type": "string" }, "errors": { "type": "array", "items": { "type": "object" } } } },
                "FeatureCollection": { "type": "object", "required": ["type", "features"], "properties": { "type": { "type": "string", "enum": ["FeatureCollection"] }, "features": { "type": "array", "items": { "type": "object" } }, "numberMatched": { "type": "integer" }, "numberReturned": { "type": "integer" }, "timeStamp": { "type": "string", "format": "date-time" }, "links": { "type": "array", "items": { "type": "object" } } } },
                "HotspotFeature": {
                    "type": "object",
                    "required": ["type", "geometry", "properties"],
                    "properties": {
                        "type": { "type": "string", "enum": ["Feature"] },
                        "geometry": { "type": "object", "required": ["type", "coordinates"], "properties": { "type": { "type": "string", "enum": ["Point"] }, "coordinates": { "type": "array", "minItems": 2, "maxItems": 3, "items": { "type": "number" } } } },
                        "properties": {
                            "type": "object",
                            "required": ["name", "kind"],
                            "properties": {
                                "name": { "type": "string", "maxLength": 200 },
                                "kind": { "type": "string", "enum": kinds },
                                "status": { "type": "string", "enum": statuses },
                                "address": { "type": "string", "maxLength": 500 },
                                "source": { "type": "string", "maxLength": 200 },
                                "notes": { "type": "string", "maxLength": 4000, "description": "Operational notes. No personal data about people." },
                                "reported_on": { "type": "string", "format": "date" },
                                "status_since": { "type": "string", "format": "date", "readOnly": true },
                                "commune_code": { "type": "string", "readOnly": true },
                                "province_code": { "type": "string", "readOnly": true },
                                "version": { "type": "integer", "readOnly": true }
                            }
                        }
                    }
                },
                "Transition": { "type": "object", "required": ["to"], "additionalProperties": false, "properties": { "to": { "type": "string", "enum": statuses }, "on": { "type": "string", "format": "date" }, "note": { "type": "string" } } }
            }
        }
    });
    review_paths(&mut doc);
    report_paths(&mut doc);
    analytics_paths(&mut doc);
    doc
}

/// The review and field-export endpoints (issue 5), added to `paths`.
fn review_paths(doc: &mut Value) {
    let id =
        json!({ "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } });
    let q = |name: &str, desc: &str| json!({ "name": name, "in": "query", "required": false, "description": desc, "schema": { "type": "string" } });
    let decisions: Vec<&str> = crate::review::Decision::all()
        .iter()
        .map(|d| d.code())
        .collect();
    let reasons: Vec<&str> = crate::review::REASONS.iter().map(|(c, _)| *c).collect();
    let priorities: Vec<&str> = crate::review::PRIORITIES.iter().map(|(c, _)| *c).collect();
    let filters = vec![
        q("commune", "Commune code"),
        q("survey", "Survey id"),
        q("class", "poppy or cannabis"),
        q(
            "status",
            "open (default for the queue), all, or comma-separated statuses",
        ),
        q("from", "Flight date from, YYYY-MM-DD"),
        q("to", "Flight date to, YYYY-MM-DD"),
    ];
    let mut queue_params = filters.clone();
    queue_params.push(q("sort", "priority (default), newest or score"));
    queue_params.push(p("limit"));
    queue_params.push(p("offset"));
    let mut export_params = filters;
    export_params.push(q("ids", "Comma-separated flag ids (any status)"));
    let conflict =
        problem("`code`: stale_version (with current_version), illegal_transition or superseded");
    let paths = [
        (
            "/v1/review/queue",
            json!({ "get": { "summary": "Flags waiting for review in your jurisdiction, by priority", "parameters": queue_params, "responses": { "200": { "description": "items, total" }, "400": problem("Bad parameter") } } }),
        ),
        (
            "/v1/review/vocab",
            json!({ "get": { "summary": "Flag statuses, decisions, transitions, false-positive reasons and priorities (Vietnamese labels)", "responses": { "200": { "description": "Vocabulary" } } } }),
        ),
        (
            "/v1/flags/{id}",
            json!({ "get": { "summary": "A flag's file: outline, drivers, decision history, evidence, surveys covering it", "parameters": [id], "responses": { "200": { "description": "The file; ETag = version" }, "404": problem("Not found or outside your jurisdiction") } } }),
        ),
        (
            "/v1/flags/{id}/decisions",
            json!({
                "get": { "summary": "A flag's decisions, oldest first", "parameters": [id], "responses": { "200": { "description": "items" }, "404": problem("Not found") } },
                "post": { "summary": "Record a review decision (reviewer or admin)", "parameters": [id, p("If-Match")],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["decision"], "additionalProperties": false, "properties": {
                        "decision": { "type": "string", "enum": decisions }, "version": { "type": "integer" },
                        "reason": { "type": "string", "enum": reasons }, "note": { "type": "string", "maxLength": crate::service::review::MAX_NOTE },
                        "eradicated_on": { "type": "string", "format": "date" }, "area_destroyed_m2": { "type": "number" },
                        "team": { "type": "string", "maxLength": crate::service::review::MAX_TEAM } } } } } },
                    "responses": { "201": { "description": "The flag's file after the decision" }, "403": problem("Not a reviewer or admin"), "404": problem("Not found or outside your jurisdiction"), "409": conflict, "422": problem("Invalid field (errors[])") } }
            }),
        ),
        (
            "/v1/flags/{id}/priority",
            json!({ "put": { "summary": "Set the flag's queue priority", "parameters": [id],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "additionalProperties": false, "properties": { "priority": { "type": "string", "enum": priorities }, "version": { "type": "integer" } } } } } },
            "responses": { "200": { "description": "The flag" }, "409": problem("Stale version"), "422": problem("Unknown priority") } } }),
        ),
        (
            "/v1/flags/{id}/similar",
            json!({ "get": { "summary": "More like this: the survey's other live flags re-scored by similarity to this one (0..1, most similar first)", "parameters": [id],
            "responses": { "200": { "description": "flag, survey, candidates[] (id, class, status, confidence, similarity, cells, href)" }, "404": problem("Not found or outside your jurisdiction"), "409": problem("The flag covers no readable cells") } } }),
        ),
        (
            "/v1/flags/{id}/evidence",
            json!({
                "get": { "summary": "A flag's field photos", "parameters": [id], "responses": { "200": { "description": "items" } } },
                "post": { "summary": "Attach a field photo (JPEG); EXIF time and GPS are checked against the plot and the flight", "parameters": [id, q("decision", "Decision id on this flag"), q("lon", "The phone's own GPS fix (WGS 84), used only when the photo has no position; with lat"), q("lat", "With lon"), q("accuracy_m", "The fix's error radius in metres")],
                    "requestBody": { "required": true, "content": { "image/jpeg": {} } },
                    "responses": { "201": { "description": "Stored, with warnings" }, "400": problem("lon without lat, or a number that is not one"), "413": problem("Over [evidence] max_bytes"), "415": problem("Not a JPEG"), "422": problem("Corrupt or too many pixels") } }
            }),
        ),
        (
            "/v1/evidence/{id}",
            json!({ "get": { "summary": "A field photo as uploaded (checked against its SHA-256)", "parameters": [id], "responses": { "200": { "description": "image/jpeg" }, "404": problem("Not found") } } }),
        ),
        (
            "/v1/exports/{file}",
            json!({ "get": { "summary": "Field exports of flags: GPX, KML, GeoJSON, or an MBTiles imagery package (reviewer or admin)",
            "parameters": [{ "name": "file", "in": "path", "required": true, "schema": { "type": "string", "enum": ["flags.gpx", "flags.kml", "flags.geojson", "imagery.mbtiles", "imagery.pmtiles", "basemap.pmtiles"] } }],
            "responses": { "200": { "description": "The file (attachment); an empty selection is a valid empty file. imagery.pmtiles: the same imagery as a raster PMTiles archive; basemap.pmtiles: land and the communes you may see around the flags, as vector tiles to zoom 14" }, "400": problem("No selection"), "403": problem("Not a reviewer or admin"), "413": problem("Imagery package too big (exports' tile limit, or [field] package_max_bytes)") } } }),
        ),
        (
            "/v1/field-package",
            json!({ "get": { "summary": "What an offline field package of these flags holds and weighs, before the download: flags, imagery tiles, sizes (flags exact, the rest estimated), the cap ([field] package_max_bytes), when it expires ([field] package_days), and the files to fetch (reviewer or admin)",
            "responses": { "200": { "description": "{manifest, files}" }, "400": problem("No selection"), "403": problem("Not a reviewer or admin") } } }),
        ),
    ];
    for (path, item) in paths {
        let mut item = item;
        if path == "/v1/exports/{file}" || path == "/v1/field-package" {
            if item["get"]["parameters"].is_null() {
                item["get"]["parameters"] = json!([]);
            }
            item["get"]["parameters"]
                .as_array_mut()
                .expect("parameters")
                .extend(export_params.clone());
        }
        doc["paths"][path] = item;
    }
}

/// Drug-free communes, KPIs, the choropleth and report files (issue 6).
fn report_paths(doc: &mut Value) {
    let q = |name: &str, desc: &str, required: bool| json!({ "name": name, "in": "query", "required": required, "description": desc, "schema": { "type": "string" } });
    let area = vec![
        q(
            "period",
            "2026-03 (month), 2026-Q1, 2026-H1, 2026 (year) or 2026-01-01..2026-03-31",
            true,
        ),
        q(
            "province",
            "Province code (default: your jurisdiction's one province, or the whole country for national users)",
            false,
        ),
        q("commune", "Commune code (instead of province)", false),
    ];
    let code =
        json!({ "name": "code", "in": "path", "required": true, "schema": { "type": "string" } });
    let scoped = problem("Province or commune unknown or outside your jurisdiction");
    let paths = [
        (
            "/v1/communes/{code}/drug-free",
            json!({
                "get": { "summary": "A commune's drug-free records (xã, phường không ma túy), oldest first", "parameters": [code], "responses": { "200": { "description": "items" }, "404": scoped } },
                "post": { "summary": "Record that a commune is (or is not) drug-free for a year (analyst or admin; audited; history kept)", "parameters": [code],
                    "requestBody": { "required": true, "content": { "application/json": { "schema": { "type": "object", "required": ["year", "drug_free", "decision_ref"], "additionalProperties": false, "properties": {
                        "year": { "type": "integer" }, "drug_free": { "type": "boolean" },
                        "decision_ref": { "type": "string", "maxLength": crate::service::reports::MAX_DECISION_REF },
                        "decided_on": { "type": "string", "format": "date" } } } } } },
                    "responses": { "201": { "description": "The record" }, "403": problem("Not an analyst or admin"), "404": scoped, "422": problem("Invalid field (errors[])") } }
            }),
        ),
        (
            "/v1/reports/kpis",
            json!({ "get": { "summary": "KPIs of an area for a period against the plans' targets: value, previous period, target, green/amber/red, breakdown", "parameters": area, "responses": { "200": { "description": "The KPIs" }, "400": problem("Bad period or parameters"), "404": scoped } } }),
        ),
        (
            "/v1/reports/communes",
            json!({ "get": { "summary": "Every commune of the area with its KPI values as properties and its bbox (GeoJSON), for a choropleth; geometry=false leaves the outlines out (the web map draws them from the communes' vector tiles)",
                "parameters": [area[0].clone(), area[1].clone(), area[2].clone(), json!({ "name": "geometry", "in": "query", "required": false, "schema": { "type": "boolean", "default": true } })],
                "responses": { "200": { "description": "FeatureCollection" }, "400": problem("Bad period or parameters"), "404": scoped } } }),
        ),
        (
            "/v1/reports/{file}",
            json!({ "get": { "summary": "The report in Vietnamese (to the province police as the standing agency): CSV, XLSX, printable HTML or PDF",
                "parameters": [{ "name": "file", "in": "path", "required": true, "schema": { "type": "string", "enum": ["report.csv", "report.xlsx", "report.html", "report.pdf"] } }, area[0], area[1], area[2]],
                "responses": { "200": { "description": "The file" }, "404": scoped } } }),
        ),
    ];
    for (path, item) in paths {
        doc["paths"][path] = item;
    }
}

/// Hotspot statistics layers and the heat map (issue 6).
fn analytics_paths(doc: &mut Value) {
    let q = |name: &str, desc: &str, ty: &str| json!({ "name": name, "in": "query", "required": false, "description": desc, "schema": { "type": ty } });
    let province = q(
        "province",
        "Province code (default: your jurisdiction's one province, or the whole country for national users)",
        "string",
    );
    let grid = [
        json!({ "name": "grid", "in": "query", "required": false, "schema": { "type": "string", "enum": ["commune", "hex"], "default": "commune" } }),
        q(
            "cell_m",
            "Hexagon size in metres across flats (grid=hex; default 5000)",
            "number",
        ),
    ];
    let scoped = problem("Province unknown or outside your jurisdiction");
    let bad = problem("A parameter is not understood");
    let invalid = problem("A parameter is out of range (errors[] names it)");
    let geo =
        json!({ "description": "FeatureCollection", "content": { "application/geo+json": {} } });
    let layer = json!({ "name": "layer", "in": "path", "required": true, "schema": { "type": "string", "enum": ["clusters", "density", "gistar", "emerging"] } });
    let tile = |n: &str| json!({ "name": n, "in": "path", "required": true, "schema": { "type": "string" } });
    let paths = [
        (
            "/v1/analytics/{layer}",
            json!({ "get": { "summary": "Hotspot statistics of the active hotspots as GeoJSON: clusters (DBSCAN suggested tụ điểm: eps_m=150, min_points=3), density (kernel density cells: bandwidth_m=1000, cell_m=250), gistar (Getis-Ord Gi* per unit: permutations=999, FDR), emerging (emerging hot spot patterns: step=month|quarter|half|year, periods=12, end=YYYY-MM-DD, measure=active|new, permutations=0; the collection carries `periods`)",
                "parameters": [layer, province.clone(), grid[0].clone(), grid[1].clone(),
                    q("eps_m", "clusters", "number"), q("min_points", "clusters", "integer"),
                    q("bandwidth_m", "density", "number"), q("permutations", "gistar, emerging", "integer"),
                    q("step", "emerging", "string"), q("periods", "emerging (3 to 60)", "integer"),
                    q("end", "emerging: a day in the last period (default today)", "string"),
                    q("measure", "emerging: active (at each period's end) or new (reported in it)", "string")],
                "responses": { "200": geo, "400": bad, "404": scoped, "422": invalid } } }),
        ),
        (
            "/v1/analytics/density.json",
            json!({ "get": { "summary": "TileJSON 3.0.0 of the heat map (quartic kernel density of active hotspots) with its colour scale: vigil:max (điểm/km² at the top of the ramp), vigil:ramp, vigil:points",
                "parameters": [province.clone(), q("bandwidth_m", "Kernel radius in metres (50 to 50000; default 1000)", "number")],
                "responses": { "200": { "description": "TileJSON" }, "404": scoped, "422": invalid } } }),
        ),
        (
            "/v1/analytics/density/{z}/{x}/{y}",
            json!({ "get": { "summary": "A heat map tile (PNG, {y}.png; zooms 4 to 18)",
                "parameters": [tile("z"), tile("x"), tile("y"), province, q("bandwidth_m", "Kernel radius in metres", "number")],
                "responses": { "200": { "description": "PNG", "content": { "image/png": {} } }, "404": scoped, "422": invalid } } }),
        ),
    ];
    for (path, item) in paths {
        doc["paths"][path] = item;
    }
}

pub async fn document(q: RawQuery, headers: HeaderMap) -> Result<Response, super::ApiError> {
    q.only(&["f"])?;
    let doc = spec();
    let explicit_json = q.map().get("f") == Some(&"json");
    if !explicit_json && format(&q, &headers)? == Format::Html {
        return Ok(html::swagger_like(&doc));
    }
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/vnd.oai.openapi+json;version=3.0"),
        )],
        doc.to_string(),
    )
        .into_response())
}
