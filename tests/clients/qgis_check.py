"""QGIS (Debian's python3-qgis, headless) against a running Vigil, as a provincial analyst sets it
up: an authentication configuration of type Basic (user name, access token as password) in
QGIS's auth manager, then OGC API – Features layers and the XYZ imagery mosaic using it.

Usage (Debian's /usr/bin/python3, QT_QPA_PLATFORM=offscreen):
  qgis_check.py URL USER TOKEN [BBOX]
BBOX (w,s,e,n lon/lat) is where the mosaic should have imagery: its pixels there are read
through the XYZ layer's provider. Prints {"qgis", "layers": {name: {"valid", "features"}},
"wrong_password": {...}, "mosaic": {"valid", "opaque"}} as JSON. Exits 2 when QGIS is missing.
"""

import json
import os
import sys
import tempfile


def main(argv):
    if len(argv) not in (4, 5):
        print(__doc__, file=sys.stderr)
        return 2
    base, user, token = argv[1].rstrip("/"), argv[2], argv[3]
    bbox = [float(x) for x in argv[4].split(",")] if len(argv) == 5 else None
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    auth_dir = tempfile.mkdtemp(prefix="qgis-auth-")
    os.environ["QGIS_AUTH_DB_DIR_PATH"] = auth_dir
    try:
        from qgis.core import (QgsApplication, QgsAuthMethodConfig, QgsCoordinateReferenceSystem,
                               QgsCoordinateTransform, QgsProject, QgsRasterLayer, QgsRectangle,
                               QgsVectorLayer, Qgis)
    except ImportError as e:
        print(f"qgis_check.py: QGIS (python3-qgis) is not installed ({e})", file=sys.stderr)
        return 2
    QgsApplication.setPrefixPath("/usr", True)
    app = QgsApplication([], False)
    app.initQgis()
    am = QgsApplication.authManager()
    am.setMasterPassword("vigil-test-master", True)

    def basic(password):
        cfg = QgsAuthMethodConfig()
        cfg.setName(f"Vigil {user}")
        cfg.setMethod("Basic")
        cfg.setConfig("username", user)
        cfg.setConfig("password", password)
        ok = am.storeAuthenticationConfig(cfg)
        if isinstance(ok, tuple):  # some bindings return (ok, cfg)
            ok, cfg = ok
        if not ok:
            raise SystemExit("qgis_check.py: could not store the auth configuration")
        return cfg.id()

    good, bad = basic(token), basic(token + "x")

    def oapif(name, authcfg):
        layer = QgsVectorLayer(f"url='{base}/' typename='{name}' authcfg='{authcfg}'", name, "OAPIF")
        if not layer.isValid():
            return {"valid": False, "features": 0}
        return {"valid": True, "features": sum(1 for _ in layer.getFeatures())}

    out = {
        "qgis": Qgis.QGIS_VERSION,
        "layers": {n: oapif(n, good) for n in ("hotspots", "communes", "provinces", "surveys")},
        "wrong_password": oapif("hotspots", bad),
    }
    xyz = QgsRasterLayer(
        f"type=xyz&url={base}/tiles/mosaic/{{z}}/{{x}}/{{y}}.png&zmin=0&zmax=22&authcfg={good}",
        "mosaic", "wms")
    mosaic = {"valid": xyz.isValid()}
    if xyz.isValid() and bbox:
        to_merc = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                         QgsCoordinateReferenceSystem("EPSG:3857"),
                                         QgsProject.instance())
        extent = to_merc.transformBoundingBox(QgsRectangle(*bbox))
        block = xyz.dataProvider().block(1, extent, 64, 64)
        # Band 1 of QGIS's XYZ provider is ARGB32; a pixel with alpha 0 is outside any survey.
        opaque = 0
        for row in range(block.height()):
            for col in range(block.width()):
                if (int(block.color(row, col)) >> 24) & 0xFF:
                    opaque += 1
        mosaic["opaque"] = opaque
        mosaic["pixels"] = block.width() * block.height()
    out["mosaic"] = mosaic
    print(json.dumps(out))
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
