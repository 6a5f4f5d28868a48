#!/usr/bin/env bash
# Builds the Debian binary package from a tree staged by
#   make install DESTDIR=ROOT PREFIX=/usr SYSCONFDIR=/etc
# plus packaging/deb/ (control.in, conffiles, maintainer scripts).
# Depends is what dpkg-shlibdeps finds the two programs linked against.
# Usage: scripts/make-deb.sh VERSION ARCH ROOT OUT.deb   (no root needed)
set -euo pipefail

version=$1 arch=$2 root=$3 out=$4
pkg=packaging/deb

for f in usr/bin/timed usr/bin/time-cli; do
  [ -x "$root/$f" ] || { echo "make-deb: $root/$f missing (stage it with make install DESTDIR=$root)" >&2; exit 1; }
done

rm -rf "$root/DEBIAN"
install -d -m 0755 "$root/DEBIAN"  # dpkg-shlibdeps finds the package root by it
# Debian ships man pages compressed (policy 12.1) and programs stripped
# (10.1; build/ keeps the symbols), and a native package has a changelog.
find "$root/usr/share/man" -type f ! -name '*.gz' -exec gzip -9n {} +
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$root/usr/bin/timed" "$root/usr/bin/time-cli"
maintainer=$(sed -n 's/^Maintainer: //p' "$pkg/control.in")
rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf 'timecoin (%s) unstable; urgency=medium\n\n  * Built from git %s (make deb).\n\n -- %s  %s\n' \
  "$version" "$rev" "$maintainer" "$(date -R -d "@$(git log -1 --format=%ct 2>/dev/null || date +%s)")" |
  gzip -9n > "$root/usr/share/doc/timecoin/changelog.gz"
chmod 0644 "$root/usr/share/doc/timecoin/changelog.gz"

# dpkg-shlibdeps reads debian/control of a source tree: give it one of its own.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir "$scratch/debian"
printf 'Source: timecoin\n\nPackage: timecoin\nArchitecture: any\n' > "$scratch/debian/control"
abs_root=$(cd "$root" && pwd)
depends=$(cd "$scratch" && dpkg-shlibdeps -O "$abs_root/usr/bin/timed" "$abs_root/usr/bin/time-cli" |
          sed -n 's/^shlibs:Depends=//p')
[ -n "$depends" ] || { echo "make-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }

size=$(du -sk --apparent-size "$root" | cut -f1)
sed -e "s|@VERSION@|$version|" -e "s|@ARCH@|$arch|" -e "s|@SIZE@|$size|" -e "s|@DEPENDS@|$depends|" \
    "$pkg/control.in" > "$root/DEBIAN/control"
chmod 0644 "$root/DEBIAN/control"
install -m 0644 "$pkg/conffiles" "$root/DEBIAN/conffiles"
install -m 0755 "$pkg/postinst" "$pkg/prerm" "$pkg/postrm" "$root/DEBIAN/"
(cd "$root" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | sort -z | xargs -0 md5sum) > "$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/md5sums"

dpkg-deb --root-owner-group -Zxz --build "$root" "$out" >/dev/null
echo "make-deb: $out (Depends: $depends, adduser)"
