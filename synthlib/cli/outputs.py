"""The output policy of every command-line verb, written once.

1. An output is never one of the inputs (the checkpoint included), compared after resolving links, and
   a folder output never holds an input.
2. An existing file is replaced only with ``--overwrite``; a folder is written into only when it is
   empty or missing, or with ``--overwrite``.
3. Two inputs never map to one output name: a folder's ``a.png`` and ``a.jpg`` become ``a_png.png`` and
   ``a_jpg.png`` (see :func:`unique_names`), and the count reported is the number of files written.
4. Writes are atomic and an error leaves nothing behind: a file is written to a temporary name in its
   folder and renamed into place; a folder's files are written into a hidden staging folder next to it
   and moved in only when every one of them has been written. The staging folder is removed on error.

Verbs check their outputs with :meth:`FileOutput.check` / :meth:`FolderOutput.check` before any work,
so a bad ``--out`` costs nothing.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from synthlib.core.errors import UserError


def _same(a: Path, b: Path) -> bool:
    """Whether two paths name the same file or folder (through symbolic or hard links)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        pass
    return os.path.realpath(a) == os.path.realpath(b)


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies inside ``folder`` (after resolving links)."""
    p, f = os.path.realpath(path), os.path.realpath(folder)
    return p != f and p.startswith(f.rstrip(os.sep) + os.sep)


@dataclass
class Input:
    """A path the verb reads, with the option that named it (for messages)."""

    option: str
    path: Path


def inputs(*pairs: tuple[str, str | os.PathLike | None]) -> list[Input]:
    """``inputs(("--input", args.input), ("checkpoint", args.checkpoint))``, leaving out the ``None`` ones
    and names that are not files (``course:NAME``)."""
    return [Input(opt, Path(p)) for opt, p in pairs if p is not None and not str(p).startswith("course:")]


def _refuse_inputs(out: Path, ins: Sequence[Input], option: str, folder: bool) -> None:
    for inp in ins:
        if _same(out, inp.path):
            raise UserError(f"{option} {out} is the {inp.option} {inp.path} (the same file or folder"
                            f"{' through a link' if str(out) != str(inp.path) else ''}); choose another "
                            "name so it is not overwritten")
        if folder and _inside(inp.path, out):
            raise UserError(f"{option} {out} holds the {inp.option} {inp.path}; write to another folder so no "
                            "input is overwritten")


def _fresh_tmp(folder: Path, name: str, suffix: str) -> Path:
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=f".tmp{suffix}", dir=folder)
    os.close(fd)
    return Path(tmp)


@dataclass
class FileOutput:
    """One output file (``--out result.png`` or ``--out samples.pt``)."""

    path: Path
    overwrite: bool = False
    option: str = "--out"
    suffixes: tuple[str, ...] | None = None  # allowed suffixes (lower case), None = any

    def check(self, ins: Sequence[Input] = ()) -> FileOutput:
        """Refuse, with one line, an output that is an input, a folder, has the wrong suffix, or exists
        without ``--overwrite``. Creates nothing."""
        p = self.path
        if self.suffixes is not None and p.suffix.lower() not in self.suffixes:
            raise UserError(f"{self.option} {p}: give a file name ending in one of {', '.join(self.suffixes)}")
        _refuse_inputs(p, ins, self.option, folder=False)
        if p.is_dir():
            raise UserError(f"{self.option} {p} is a folder; give a file name")
        if p.exists() and not self.overwrite:
            raise UserError(f"{self.option} {p} exists; pass --overwrite to replace it, or choose another name")
        parent = _existing_parent(p)
        if not os.access(parent, os.W_OK):
            raise UserError(f"{self.option} {p}: the folder {parent} is not writable; choose another place")
        return self

    @contextlib.contextmanager
    def writing(self) -> Iterator[Path]:
        """Yield a temporary path in the output's folder; on success it is renamed onto the output.
        On any error (Ctrl-C included) the temporary file and any folder created for it are removed."""
        created = _make_parents(self.path.parent)
        tmp = _fresh_tmp(self.path.parent, self.path.name, self.path.suffix)
        try:
            yield tmp
            os.replace(tmp, self.path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            _remove_created(created)
            raise


@dataclass
class FolderOutput:
    """An output folder of files (``--out samples/``)."""

    path: Path
    overwrite: bool = False
    option: str = "--out"
    written: list[str] = field(default_factory=list)
    replaced: int = 0

    def check(self, ins: Sequence[Input] = ()) -> FolderOutput:
        """Refuse, with one line, a folder that is or holds an input, is a file, or is not empty (without
        ``--overwrite``). Creates nothing."""
        p = self.path
        _refuse_inputs(p, ins, self.option, folder=True)
        if p.exists() and not p.is_dir():
            raise UserError(f"{self.option} {p} is a file, not a folder; give a folder name (ending in /)")
        if p.is_dir() and not self.overwrite:
            entries = [e for e in p.iterdir()]
            if entries:
                raise UserError(f"{self.option} {p} is not empty ({len(entries)} entries); pass --overwrite to "
                                "write into it (files of the same name are replaced), or give an empty or new folder")
        parent = _existing_parent(p)
        if not os.access(parent, os.W_OK):
            raise UserError(f"{self.option} {p}: {parent} is not writable; choose another place")
        return self

    @contextlib.contextmanager
    def writing(self) -> Iterator[Path]:
        """Yield a hidden staging folder next to the output; when the block ends without error its files
        are moved into the output folder (created if needed). On error the staging folder is removed and
        the output folder is as it was."""
        created = _make_parents(self.path.parent)
        stage = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=self.path.parent))
        try:
            yield stage
            names = sorted(e.name for e in stage.iterdir())
            if not self.path.exists():
                os.rename(stage, self.path)
            else:
                self.replaced = sum((self.path / n).exists() for n in names)
                for n in names:
                    os.replace(stage / n, self.path / n)
                stage.rmdir()
            self.written = names
        except BaseException:
            shutil.rmtree(stage, ignore_errors=True)
            _remove_created(created)
            raise


def _existing_parent(p: Path) -> Path:
    parent = p.absolute().parent
    while not parent.exists():
        parent = parent.parent
    return parent


def _make_parents(folder: Path) -> list[Path]:
    """mkdir -p ``folder``; the folders it created, deepest first (to remove them again on error)."""
    created: list[Path] = []
    f = folder.absolute()
    while not f.exists():
        created.append(f)
        f = f.parent
    folder.mkdir(parents=True, exist_ok=True)
    return created


def _remove_created(created: Iterable[Path]) -> None:
    for f in created:
        with contextlib.suppress(OSError):
            f.rmdir()


def unique_names(paths: Sequence[Path]) -> list[str]:
    """A distinct output stem per input path: the stem, or ``stem_suffix`` where two inputs share a stem
    (``a.png``, ``a.jpg`` -> ``a_png``, ``a_jpg``), numbered if even that collides."""
    stems = Counter(p.stem for p in paths)
    names = [p.stem if stems[p.stem] == 1 else f"{p.stem}_{p.suffix.lstrip('.').lower()}" for p in paths]
    seen: Counter[str] = Counter()
    out = []
    counts = Counter(names)
    for n in names:
        if counts[n] > 1:
            seen[n] += 1
            n = f"{n}_{seen[n]}"
        out.append(n)
    return out
