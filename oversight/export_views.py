"""Exports: a small one answered at once, a big one offered as an export job; the job's
progress page and JSON, its download, and 我的导出 (a person's own exports)."""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from cases.audit import record_access
from cases.models import AccessKind

from . import export_jobs, selectors
from .export_tables import KINDS, may_export, table_for
from .exports import CONTENT_TYPES, FORMATS, table_response
from .models import ExportState

# Own exports listed on 我的导出.
MY_EXPORTS_PAGE = 50


def export_response(request, kind: str, file_format: str):
    """The page's table as a file now, or, past EXPORT_INLINE_ROWS rows, a page offering
    to make it in the background (a button: asking for a job is a POST)."""
    table = table_for(kind, request.user, request.GET)
    if table.total > settings.EXPORT_INLINE_ROWS:
        query = request.GET.copy()
        for name in export_jobs.NOT_PARAMS:
            query.pop(name, None)
        return render(request, "oversight/export_offer.html", {
            "table": table, "kind": kind, "kind_label": KINDS[kind].label,
            "file_format": file_format, "query": query.urlencode(),
            "inline_rows": settings.EXPORT_INLINE_ROWS,
            "back": request.path + (f"?{query.urlencode()}" if query else "")})
    if table.audit:
        record_access(request, None, AccessKind.EXPORT, detail=table.audit)
    return table_response(file_format, table)


@require_POST
@login_required
def start_export(request):
    kind = request.POST.get("kind", "")
    file_format = request.POST.get("file_format", "")
    if kind not in KINDS or file_format not in FORMATS:
        raise Http404
    if not may_export(request.user, kind):
        raise PermissionDenied
    params = export_jobs.params_of(QueryDict(request.POST.get("query", "")[:4000]))
    try:
        job = export_jobs.start_export(actor=request.user, kind=kind,
                                       file_format=file_format, params=params)
    except ValidationError:
        raise Http404 from None
    return redirect("oversight:export_job", job.pk)


def _job(request, job_id: int):
    return get_object_or_404(selectors.export_jobs_visible_to(request.user), pk=job_id)


@login_required
def my_exports(request):
    """我的导出: the person's own export jobs, newest first."""
    jobs = list(selectors.export_jobs_visible_to(request.user)
                .filter(requested_by=request.user)[:MY_EXPORTS_PAGE])
    return render(request, "oversight/my_exports.html", {
        "jobs": jobs, "keep_days": settings.EXPORT_KEEP_DAYS,
        "waiting": any(not job.is_finished for job in jobs)})


@login_required
def export_job(request, job_id: int):
    job = _job(request, job_id)
    return render(request, "oversight/export_job.html", {
        "job": job, "status": export_jobs.status_of(job),
        "keep_days": settings.EXPORT_KEEP_DAYS})


@never_cache
@login_required
def export_status(request, job_id: int):
    return JsonResponse(export_jobs.status_of(_job(request, job_id)))


@login_required
def export_download(request, job_id: int):
    job = _job(request, job_id)
    if job.state != ExportState.DONE or not job.file:
        raise Http404
    # The maker who has since lost the role that let them export this gets nothing.
    if job.requested_by_id == request.user.pk and not may_export(request.user, job.kind):
        raise PermissionDenied
    if job.audit_detail:
        record_access(request, None, AccessKind.EXPORT, detail=job.audit_detail)
    try:
        opened = job.file.open("rb")
    except FileNotFoundError:
        raise Http404 from None
    return FileResponse(opened, as_attachment=True, filename=job.filename,
                        content_type=CONTENT_TYPES[job.file_format])
