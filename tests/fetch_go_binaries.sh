#!/bin/sh
# Downloads real linux/amd64 Go executables built by Go releases that this
# machine has no toolchain for, so that tests/e2e/test_real_binaries.py can
# check goprof's pclntab reader against every pclntab layout in use.
# They come from npm packages that ship prebuilt Go programs (esbuild,
# lefthook), pinned by version and by the sha256 of the executable.
#
# Into tests/.cache/gobins/ (gitignored). Idempotent: a binary already
# there with the right checksum is not downloaded again. Exit status 1,
# with a message naming the package, if any download or check fails.
#
# No package was found for these releases: none (1.19 and 1.26 are built
# locally). esbuild 0.27+ drops .go.buildinfo, so `go version` cannot name
# its release; the go1.26 pin below was identified by its
# runtime.buildVersion string instead, and is kept because it is a
# stripped Go 1.26 binary (header textStart 0, no symbols) that nothing
# built here resembles.
set -u

here=$(cd "$(dirname "$0")" && pwd)
dest="$here/.cache/gobins"
registry="${NPM_REGISTRY:-https://registry.npmjs.org}"
failed=0

# pin NAME PACKAGE VERSION PATH-IN-TARBALL SHA256-OF-THAT-FILE
# NAME starts with the Go version the binary was built with.
pins() {
    pin go1.18-esbuild-0.14.30 esbuild-linux-64 0.14.30 package/bin/esbuild \
        2636b47b8e2af4da6eafc3747bde2693705e916d2da7b928160067791a83b029
    pin go1.20.4-esbuild-0.17.19 @esbuild/linux-x64 0.17.19 package/bin/esbuild \
        1cddecd699b9e839e3c5cad6b9b0bf31f16e6e536c9885ca4cfb94d9ac60d3b8
    pin go1.21.1-lefthook-1.5.0 lefthook-linux-x64 1.5.0 package/bin/lefthook \
        bcf7ccaebdee024003705a989131af9fc31bc0cb60828465dd09d16e6430f53c
    pin go1.22.5-esbuild-0.23.1 @esbuild/linux-x64 0.23.1 package/bin/esbuild \
        eff84696eb6f0eeef2964951767d290c222baa4a08c4ff9a48a94080325fef66
    pin go1.23.1-esbuild-0.24.2 @esbuild/linux-x64 0.24.2 package/bin/esbuild \
        75d1eba922507d7bd02cafe0bccd6c5ff8c8a427b34a700494c8f913328ce430
    pin go1.24.4-lefthook-1.12.0 lefthook-linux-x64 1.12.0 package/bin/lefthook \
        4f8cdfcae8b2c80a1a6254a8315bbc52eaa656988ee008194f88b146abf656a6
    pin go1.25.3-lefthook-2.0.0 lefthook-linux-x64 2.0.0 package/bin/lefthook \
        83f047a91bbde650da6c0b1aca5582078939be3f23ffcf6909f01a63792ad536
    pin go1.26.5-esbuild-0.28.2 @esbuild/linux-x64 0.28.2 package/bin/esbuild \
        e1698a3d5c6c0798fee4fd3b5cc816651f460c63d390a7a26ea4beb0b1884100
}

sha_ok() {
    [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]
}

pin() {
    name=$1 pkg=$2 version=$3 member=$4 sha=$5
    out="$dest/$name"
    if sha_ok "$out" "$sha"; then
        echo "have  $name"
        return
    fi
    # Registry tarball URL: @scope/name -> @scope/name/-/name-VERSION.tgz
    url="$registry/$pkg/-/${pkg##*/}-$version.tgz"
    tmp=$(mktemp -d "$dest/.fetch.XXXXXX")
    if ! curl -fsSL --retry 3 --max-time 300 -o "$tmp/pkg.tgz" "$url"; then
        echo "FAILED $name: could not download $pkg@$version from $url" >&2
        failed=1
    elif ! tar -xzf "$tmp/pkg.tgz" -C "$tmp" "$member"; then
        echo "FAILED $name: $pkg@$version has no $member" >&2
        failed=1
    elif ! sha_ok "$tmp/$member" "$sha"; then
        echo "FAILED $name: $member of $pkg@$version has sha256" \
            "$(sha256sum "$tmp/$member" | cut -d' ' -f1), expected $sha" >&2
        failed=1
    else
        chmod 755 "$tmp/$member"
        mv -f "$tmp/$member" "$out"
        echo "fetched $name ($pkg@$version)"
    fi
    rm -rf "$tmp"
}

mkdir -p "$dest" || exit 1
pins
exit $failed
