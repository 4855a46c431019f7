"""The analyst's screens: queue, item, media derivatives and reveals, grid, history."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from verisight.assessment import InvalidDecision, QueueFilter, StaleVersion
from verisight.assessment.mappings import JUDGEMENT_CALLS
from verisight.assessment.review import PROVENANCE_VERDICTS
from verisight.web.deps import Post, Service, Session, render
from verisight.web.streaming import VerifiedFileResponse

router = APIRouter()
NO_STORE = {"Cache-Control": "no-store"}


def _filter(
    provenance: str | None = None, bank: str | None = None, source: str | None = None
) -> QueueFilter:
    return QueueFilter(provenance or None, bank or None, source or None)


Prov = Annotated[str | None, Query()]


@router.get("/queue")
def queue(
    request: Request,
    service: Service,
    session: Session,
    provenance: Prov = None,
    bank: Prov = None,
    source: Prov = None,
) -> Response:
    filt = _filter(provenance, bank, source)
    view = service.queue(session.user, filt)
    template = "queue_list.html" if request.headers.get("hx-request") else "queue.html"
    return render(request, template, session, view=view, filt=filt,
                  verdicts=PROVENANCE_VERDICTS)  # fmt: skip


@router.get("/next")
def next_item(
    service: Service,
    session: Session,
    provenance: Prov = None,
    bank: Prov = None,
    source: Prov = None,
) -> Response:
    sha = service.next_item(session.user, _filter(provenance, bank, source))
    return RedirectResponse(f"/item/{sha}" if sha else "/queue", status_code=303)


@router.get("/item/{sha256}")
def item(request: Request, service: Service, session: Session, sha256: str) -> Response:
    view = service.item(session.user, sha256)
    return render(request, "item.html", session, item=view, judgement_calls=JUDGEMENT_CALLS)


@router.post("/item/{sha256}/assess")
def assess(request: Request, service: Service, post: Post, sha256: str) -> Response:
    try:
        version = int(post.form.get("version", "0"))
        decision = service.parse_decision(post.form)
        service.submit(post.user, sha256, decision, version)
    except ValueError:
        raise InvalidDecision("version must be a number") from None
    except StaleVersion as exc:
        view = service.item(post.user, sha256)
        theirs = service.visible_current(post.user, exc.current)  # none while judged blind
        return render(request, "conflict.html", post.session, 409, item=view,
                      mine=post.form, theirs=theirs)  # fmt: skip
    nxt = service.next_item(post.user, QueueFilter(), after=sha256)
    return RedirectResponse(f"/item/{nxt}" if nxt else "/queue", status_code=303)


@router.post("/item/{sha256}/propagate")
def propagate(request: Request, service: Service, post: Post, sha256: str) -> Response:
    """Apply a representative's decision to the checked members (``member.<sha256>``).

    Two steps: without ``confirm=yes`` it only shows what would happen and asks for the
    confirmation (a second POST with the same members); nothing changes before that."""
    selected = {k.split(".", 1)[1] for k in post.form if k.startswith("member.")}
    if post.form.get("confirm") != "yes":
        cluster, plan, source = service.propagation_preview(post.user, sha256, selected)
        return render(request, "propagate.html", post.session, sha256=sha256, cluster=cluster,
                      plan=plan, source=source, selected=sorted(selected), result=None)  # fmt: skip
    result = service.propagate(post.user, sha256, selected, confirmed=True)
    return render(request, "propagate.html", post.session, sha256=sha256, result=result)


@router.post("/item/{sha256}/representative")
def representative(service: Service, post: Post, sha256: str) -> Response:
    """A reviewer makes this member its cluster's representative (audited; refused with the
    reason when a member would fall beyond the threshold)."""
    service.set_representative(post.user, sha256)
    return RedirectResponse(f"/item/{sha256}", status_code=303)


@router.get("/media/{sha256}/shielded.jpg")
def shielded(service: Service, session: Session, sha256: str) -> Response:
    data = service.image(session.user, sha256)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.get("/media/{sha256}/revealed.jpg")
def revealed(service: Service, session: Session, sha256: str) -> Response:
    data = service.image(session.user, sha256, revealed=True)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.post("/media/{sha256}/reveal")
def reveal(service: Service, post: Post, sha256: str) -> Response:
    service.reveal(post.user, sha256)
    return Response(status_code=204, headers=NO_STORE)


@router.get("/media/{sha256}/frame/{index}/shielded.jpg")
def frame_shielded(service: Service, session: Session, sha256: str, index: int) -> Response:
    data = service.frame(session.user, sha256, index)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.get("/media/{sha256}/frame/{index}/revealed.jpg")
def frame_revealed(service: Service, session: Session, sha256: str, index: int) -> Response:
    data = service.frame(session.user, sha256, index, revealed=True)
    return Response(data, media_type="image/jpeg", headers=NO_STORE)


@router.post("/media/{sha256}/play")
def play(service: Service, post: Post, sha256: str) -> Response:
    service.play(post.user, sha256)
    return Response(status_code=204, headers=NO_STORE)


@router.get("/media/{sha256}/video")
def video(service: Service, session: Session, sha256: str) -> Response:
    """The original video, streamed in place with HTTP Range support, after a Play."""
    opened = service.video_file(session.user, sha256)
    return VerifiedFileResponse(opened.file, opened.stat, media_type=opened.mime, headers=NO_STORE)


@router.post("/media/{sha256}/conceal")
def conceal(service: Service, post: Post, sha256: str) -> Response:
    service.conceal(post.user, sha256)
    return Response(status_code=204, headers=NO_STORE)


@router.get("/grid")
def grid(
    request: Request,
    service: Service,
    session: Session,
    provenance: Prov = None,
    bank: Prov = None,
    source: Prov = None,
) -> Response:
    filt = _filter(provenance, bank, source)
    view = service.queue(session.user, filt, limit=12)
    rows = [service.item(session.user, e.sha256, via="grid") for e in view.to_assess
            if not e.awaiting_apply]  # fmt: skip
    return render(request, "grid.html", session, rows=rows, filt=filt, results=None)


@router.post("/grid")
def grid_submit(request: Request, service: Service, post: Post) -> Response:
    """One row per media, fields named ``<field>.<sha256>``; each row saved on its own."""
    shas = [k.split(".", 1)[1] for k in post.form if k.startswith("outcome.")]
    results: list[tuple[str, str]] = []
    for sha in shas:
        row = {k.split(".", 1)[0]: v for k, v in post.form.items() if k.endswith("." + sha)}
        try:
            decision = service.parse_decision(row)
            service.submit(post.user, sha, decision, int(row.get("version", "0")))
            results.append((sha, "saved"))
        except StaleVersion:
            results.append((sha, "conflict: assessed by someone else meanwhile, not saved"))
        except (InvalidDecision, ValueError) as exc:
            results.append((sha, f"not saved: {exc}"))
    view = service.queue(post.user, QueueFilter(), limit=12)
    rows = [service.item(post.user, e.sha256, via="grid") for e in view.to_assess
            if not e.awaiting_apply]  # fmt: skip
    status = 409 if any(r.startswith("conflict") for _, r in results) else 200
    return render(request, "grid.html", post.session, status, rows=rows,
                  filt=QueueFilter(), results=results)  # fmt: skip


@router.get("/history/{sha256}")
def history(request: Request, service: Service, session: Session, sha256: str) -> Response:
    h = service.history(session.user, sha256)
    return render(request, "history.html", session, sha256=sha256, current=h.assessment,
                  opinions=h.opinions, entries=h.entries, asdict=asdict)  # fmt: skip
