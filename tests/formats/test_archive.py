"""Safe zip extraction: hostile entries are skipped and reported, bombs refused whole."""

from __future__ import annotations

import os
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from labelloop.domain import InvalidInput
from labelloop.formats.archive import UnsafeArchive, extract_zip, unwrap

LIMITS = {"max_files": 100, "max_total_bytes": 50 * 2**20}


def make_zip(path: Path, entries: list[tuple[str | zipfile.ZipInfo, bytes]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries:
            archive.writestr(name, data)
    return path


def entry_with_mode(name: str, mode: int) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name)
    info.external_attr = mode << 16
    info.create_system = 3  # unix: the mode bits are meaningful
    return info


def all_files(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() or path.is_symlink()
    }


def test_extracts_a_normal_archive(tmp_path: Path):
    archive = make_zip(
        tmp_path / "ok.zip",
        [("images/a.jpg", b"jpeg"), ("images/sub/", b""), ("labels/a.txt", b"0 0.5 0.5 1 1\n")],
    )
    issues = extract_zip(archive, tmp_path / "out", **LIMITS)
    assert issues == []
    assert all_files(tmp_path / "out") == {"images/a.jpg", "labels/a.txt"}
    assert (tmp_path / "out" / "images" / "sub").is_dir()
    assert (tmp_path / "out" / "labels" / "a.txt").read_bytes() == b"0 0.5 0.5 1 1\n"


def test_default_limits_allow_a_call_without_limits(tmp_path: Path):
    archive = make_zip(tmp_path / "ok.zip", [("a.jpg", b"jpeg")])
    assert extract_zip(archive, tmp_path / "out") == []
    assert (tmp_path / "out" / "a.jpg").read_bytes() == b"jpeg"


@pytest.mark.filterwarnings("ignore:Duplicate name:UserWarning")  # on purpose
def test_hostile_entries_are_skipped_and_reported(tmp_path: Path):
    archive = make_zip(
        tmp_path / "evil.zip",
        [
            ("good.jpg", b"ok"),
            ("/etc/evil-absolute", b"x"),
            ("../evil-parent", b"x"),
            ("a/../../evil-nested", b"x"),
            ("..\\evil-backslash", b"x"),
            ("C:/evil-drive", b"x"),
            ("C:\\evil-drive2", b"x"),
            (entry_with_mode("link.jpg", stat.S_IFLNK | 0o777), b"/etc/passwd"),
            (entry_with_mode("device", stat.S_IFCHR | 0o600), b""),
            ("good.jpg", b"second copy"),
            ("__MACOSX/._good.jpg", b"resource fork"),
        ],
    )
    dest = tmp_path / "out"
    issues = extract_zip(archive, dest, **LIMITS)
    reasons = {issue.path: issue.problem for issue in issues}
    assert reasons == {
        "/etc/evil-absolute": "skipped: absolute path",
        "../evil-parent": "skipped: path with a '..' component",
        "a/../../evil-nested": "skipped: path with a '..' component",
        "..\\evil-backslash": "skipped: path with a '..' component",
        "C:/evil-drive": "skipped: path with a drive letter",
        "C:\\evil-drive2": "skipped: path with a drive letter",
        "link.jpg": "skipped: symbolic link",
        "device": "skipped: not a regular file or folder (device, pipe or socket)",
        "good.jpg": "skipped: a second entry with the same name",
    }
    assert all_files(dest) == {"good.jpg"}
    assert (dest / "good.jpg").read_bytes() == b"ok"  # the first copy, never overwritten
    assert all_files(tmp_path) == {"evil.zip", "out/good.jpg"}  # nothing written outside
    assert not any(path.is_symlink() for path in dest.rglob("*"))


def test_encrypted_entries_are_skipped(tmp_path: Path):
    archive = make_zip(tmp_path / "enc.zip", [("secret.txt", b"data"), ("open.txt", b"data")])
    raw = bytearray(archive.read_bytes())
    central = raw.find(b"PK\x01\x02")  # first central directory record: secret.txt
    flags = struct.unpack_from("<H", raw, central + 8)[0]
    struct.pack_into("<H", raw, central + 8, flags | 0x1)
    archive.write_bytes(bytes(raw))
    issues = extract_zip(archive, tmp_path / "out", **LIMITS)
    assert [(i.path, i.problem) for i in issues] == [("secret.txt", "skipped: encrypted")]
    assert all_files(tmp_path / "out") == {"open.txt"}


# --- bombs --------------------------------------------------------------------------------------


def test_too_many_entries_is_refused_before_writing(tmp_path: Path):
    archive = make_zip(tmp_path / "many.zip", [(f"f{i}.txt", b"x") for i in range(11)])
    with pytest.raises(UnsafeArchive, match="11 entries, over the limit of 10"):
        extract_zip(archive, tmp_path / "out", max_files=10, max_total_bytes=2**20)
    assert not (tmp_path / "out").exists()


def test_too_many_bytes_is_refused(tmp_path: Path):
    archive = make_zip(tmp_path / "big.zip", [(f"f{i}.bin", os.urandom(1000)) for i in range(3)])
    with pytest.raises(UnsafeArchive, match="unpacks to"):
        extract_zip(archive, tmp_path / "out", max_files=10, max_total_bytes=2000)
    assert not (tmp_path / "out").exists()


def test_compression_ratio_bomb_is_refused(tmp_path: Path):
    archive = make_zip(tmp_path / "bomb.zip", [("zeros.bmp", bytes(4 * 2**20))])
    assert archive.stat().st_size < 20_000
    with pytest.raises(UnsafeArchive, match="zip bomb refused") as raised:
        extract_zip(archive, tmp_path / "out", **LIMITS)
    assert isinstance(raised.value, InvalidInput)  # mapped to a 400 like any bad input
    assert "zeros.bmp" in str(raised.value)
    assert not (tmp_path / "out").exists()


def test_an_entry_that_lies_about_its_size_is_not_written_past_it(tmp_path: Path):
    archive = make_zip(tmp_path / "liar.zip", [("zeros.bin", bytes(2 * 2**20)), ("ok.txt", b"k")])
    raw = bytearray(archive.read_bytes())
    central = raw.find(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, 1000)  # claims 1000 bytes unpacked
    archive.write_bytes(bytes(raw))
    issues = extract_zip(archive, tmp_path / "out", **LIMITS)
    assert [i.path for i in issues] == ["zeros.bin"]
    assert issues[0].problem.startswith("skipped: cannot extract")
    assert all_files(tmp_path / "out") == {"ok.txt"}  # no partial file left behind


def test_not_a_zip_is_refused(tmp_path: Path):
    fake = tmp_path / "fake.zip"
    fake.write_bytes(b"PK not really")
    with pytest.raises(UnsafeArchive, match=r"fake\.zip is not a readable zip file"):
        extract_zip(fake, tmp_path / "out", **LIMITS)


# --- unwrap: the dataset inside one wrapping folder ---------------------------------------------


def extracted(tmp_path: Path, entries: list[str]) -> Path:
    archive = make_zip(tmp_path / "up.zip", [(name, b"x") for name in entries])
    assert extract_zip(archive, tmp_path / "out", **LIMITS) == []
    return tmp_path / "out"


def test_unwrap_peels_wrapping_folders_and_ignores_system_junk(tmp_path: Path):
    out = extracted(
        tmp_path,
        [
            "export/coll/cat/a.jpg",
            "export/coll/dog/b.jpg",
            "export/.DS_Store",
            "__MACOSX/export/._coll",  # never extracted
            ".DS_Store",
            "Thumbs.db",
            "desktop.ini",
        ],
    )
    assert unwrap(out) == out / "export" / "coll"


def test_unwrap_keeps_a_root_with_more_than_one_entry(tmp_path: Path):
    out = extracted(tmp_path, ["coll/images/a.jpg", "README.md"])
    assert unwrap(out) == out


def test_unwrap_takes_a_folder_with_an_annotation_file(tmp_path: Path):
    out = extracted(tmp_path, ["coll/a.jpg", "coll/a.xml"])
    assert unwrap(out) == out / "coll"


def test_unwrap_keeps_a_single_folder_of_images(tmp_path: Path):
    # cat/*.jpg may be one class of an ImageNet archive: its name is the label.
    out = extracted(tmp_path, ["cat/a.jpg", "cat/b.png", "cat/.DS_Store"])
    assert unwrap(out) == out


def test_unwrap_of_an_unwrapped_archive_is_the_root(tmp_path: Path):
    out = extracted(tmp_path, ["images/a.jpg", "labels/a.txt", "data.yaml"])
    assert unwrap(out) == out
