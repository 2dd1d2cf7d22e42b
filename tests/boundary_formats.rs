//! `vigil import boundaries` reads any vector format GDAL opens, in any CRS: the fixture converted
//! to GeoPackage and to a Shapefile in VN-2000 / UTM 48N (EPSG:3405) must place points in the same
//! communes as the GeoJSON original.

use std::path::{Path, PathBuf};
use std::process::Command;

fn vigil(args: &[&str]) -> std::process::Output {
    eprintln!("vigil {args:?}");
    Command::new(env!("CARGO_BIN_EXE_vigil"))
        .args(args)
        .env("VIGIL_LOG", "warn")
        .output()
        .expect("run vigil")
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/boundaries")
        .join(name)
}

fn have_ogr2ogr() -> bool {
    let ok = Command::new("ogr2ogr")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !ok {
        assert!(
            std::env::var("VIGIL_SKIP_EXTERNAL").as_deref() == Ok("1"),
            "ogr2ogr (gdal-bin) is missing: run `make test`, which installs it"
        );
        eprintln!("skipped: ogr2ogr missing and VIGIL_SKIP_EXTERNAL=1");
    }
    ok
}

fn ogr2ogr(args: &[&str]) {
    let out = Command::new("ogr2ogr")
        .args(args)
        .output()
        .expect("ogr2ogr");
    assert!(
        out.status.success(),
        "ogr2ogr {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Imports provinces and communes from `dir/name.ext` files, then a CSV of probe points, and returns
/// `(name, commune_code)` for each hotspot via the CLI-less store read through `vigil` HTTP-free output.
fn communes_of_probes(provinces: &Path, communes: &Path, extra: &[&str]) -> Vec<(String, String)> {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let out = vigil(
        &[
            &[
                "import",
                "boundaries",
                "--data-dir",
                d,
                provinces.to_str().unwrap(),
                "--level",
                "province",
            ][..],
            extra,
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = vigil(
        &[
            &[
                "import",
                "boundaries",
                "--data-dir",
                d,
                communes.to_str().unwrap(),
                "--level",
                "commune",
            ][..],
            extra,
        ]
        .concat(),
    );
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = data.path().join("probes.csv");
    std::fs::write(&csv, "lon,lat,name,kind\n105.0,22.0,a,khac\n105.4,21.7,b,khac\n106.1,21.1,c,khac\n106.6,21.4,d,khac\n").unwrap();
    let out = vigil(&["import", "hotspots", "--data-dir", d, csv.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{:?}: {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let v = vigil::Vigil::open(vigil::Config::for_tests(data.path())).unwrap();
    let (rows, _) = v
        .query_hotspots(
            &vigil::auth::Principal::cli(),
            &Default::default(),
            None,
            100,
        )
        .unwrap();
    rows.into_iter()
        .map(|h| (h.name, h.commune_code.unwrap_or_default()))
        .collect()
}

#[test]
fn geopackage_and_vn2000_shapefile_give_the_same_communes_as_geojson() {
    if !have_ogr2ogr() {
        return;
    }
    let want = communes_of_probes(
        &fixture("provinces.geojson"),
        &fixture("communes.geojson"),
        &[],
    );
    assert_eq!(
        want,
        vec![
            ("a".into(), "02200".into()),
            ("b".into(), "02201".into()),
            ("c".into(), "07000".into()),
            ("d".into(), "07001".into())
        ]
    );

    let tmp = tempfile::tempdir().unwrap();
    let gpkg_p = tmp.path().join("provinces.gpkg");
    let gpkg_c = tmp.path().join("communes.gpkg");
    ogr2ogr(&[
        "-f",
        "GPKG",
        gpkg_p.to_str().unwrap(),
        fixture("provinces.geojson").to_str().unwrap(),
    ]);
    ogr2ogr(&[
        "-f",
        "GPKG",
        gpkg_c.to_str().unwrap(),
        fixture("communes.geojson").to_str().unwrap(),
    ]);
    assert_eq!(
        communes_of_probes(&gpkg_p, &gpkg_c, &[]),
        want,
        "GeoPackage"
    );

    // Shapefile in VN-2000 / UTM zone 48N, with shapefile-style short field names.
    let shp_p = tmp.path().join("tinh.shp");
    let shp_c = tmp.path().join("xa.shp");
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:3405",
        "-lco",
        "ENCODING=UTF-8",
        shp_p.to_str().unwrap(),
        fixture("provinces.geojson").to_str().unwrap(),
    ]);
    ogr2ogr(&[
        "-f",
        "ESRI Shapefile",
        "-t_srs",
        "EPSG:3405",
        "-lco",
        "ENCODING=UTF-8",
        "-sql",
        "SELECT code AS ma_xa, name AS ten_xa, province_code AS ma_tinh FROM communes",
        shp_c.to_str().unwrap(),
        fixture("communes.geojson").to_str().unwrap(),
    ]);
    let got = {
        let data = tempfile::tempdir().unwrap();
        let d = data.path().to_str().unwrap();
        let out = vigil(&[
            "import",
            "boundaries",
            "--data-dir",
            d,
            shp_p.to_str().unwrap(),
            "--level",
            "province",
        ]);
        assert!(
            out.status.success(),
            "{:?}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let out = vigil(&[
            "import",
            "boundaries",
            "--data-dir",
            d,
            shp_c.to_str().unwrap(),
            "--level",
            "commune",
            "--code-field",
            "ma_xa",
            "--name-field",
            "ten_xa",
            "--parent-field",
            "ma_tinh",
        ]);
        assert!(
            out.status.success(),
            "{:?}: {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let v = vigil::Vigil::open(vigil::Config::for_tests(data.path())).unwrap();
        let b = v.boundaries();
        let names: Vec<String> = b
            .list(vigil::boundaries::Level::Commune)
            .iter()
            .map(|c| c.name.clone())
            .collect();
        assert!(
            names.contains(&"Xã Minh Quang".to_string()),
            "UTF-8 names survive: {names:?}"
        );
        [(105.0, 22.0), (105.4, 21.7), (106.1, 21.1), (106.6, 21.4)]
            .iter()
            .map(|(x, y)| b.locate(*x, *y).commune.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        got,
        want.iter().map(|(_, c)| c.clone()).collect::<Vec<_>>(),
        "Shapefile in EPSG:3405"
    );
}

#[test]
fn a_bad_boundary_file_is_refused_and_changes_nothing() {
    let data = tempfile::tempdir().unwrap();
    let d = data.path().to_str().unwrap();
    let bad = data.path().join("bad.geojson");
    std::fs::write(&bad, r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"01","name":"A"},"geometry":{"type":"Point","coordinates":[105,21]}}]}"#).unwrap();
    let out = vigil(&[
        "import",
        "boundaries",
        "--data-dir",
        d,
        bad.to_str().unwrap(),
        "--level",
        "province",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("expected a (multi)polygon"), "{err}");
    let v = vigil::Vigil::open(vigil::Config::for_tests(data.path())).unwrap();
    assert!(v.boundaries().is_empty());
}
