import re

from django.conf import settings
from django.utils import translation
from django.utils.translation import check_for_language
from django.utils.translation import gettext_lazy as _


class ChineseFirstLocaleMiddleware:
    """Chinese unless the person chose another language in the menu.

    Django's LocaleMiddleware follows the browser's Accept-Language; office computers
    often run an English browser, and the office works in Chinese, so only the explicit
    choice (the language cookie set by the menu) changes the language.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        language = chosen if chosen and check_for_language(chosen) else settings.LANGUAGE_CODE
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        try:
            response = self.get_response(request)
        finally:
            # The thread goes back to the default: work done after this request (a task,
            # a command, the next request) must not inherit this person's language.
            translation.deactivate()
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response


class CaseErrorMiddleware:
    """A refused move reaches the person as a readable page (409), never as a 500.

    Views catch the errors they expect and re-render their form; this is the net under
    them all, so that no door shows a stack trace for a rule of the office.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        from django.shortcuts import render

        from .exceptions import CaseConflictError, CaseError

        if isinstance(exception, CaseError):
            return render(request, "cases/refused.html", {
                "message": exception.message,
                "conflict": isinstance(exception, CaseConflictError), "lost": False,
            }, status=409)
        if is_contention(exception):
            return render(request, "cases/refused.html", {
                "message": CONTENTION_MESSAGE, "conflict": True, "lost": False}, status=409)
        if is_connection_lost(exception):
            drop_lost_connections()
            response = render(request, "cases/refused.html", {
                "message": CONNECTION_LOST_MESSAGE, "conflict": False, "lost": True},
                status=503)
            response["Retry-After"] = "5"
            return response
        return None


# PostgreSQL's codes for a deadlock, a lock not obtained in lock_timeout, a statement
# cancelled by statement_timeout, and serialisation failures.
CONTENTION_CODES = {"40P01", "55P03", "57014", "40001"}
CONTENTION_MESSAGE = _("系统繁忙：案件正被他人处理，请稍后重试。")


def is_contention(exception: BaseException) -> bool:
    """A database error that only means "someone else holds it now": try again."""
    from .services import contention_code

    return contention_code(exception) in CONTENTION_CODES


CONNECTION_LOST_MESSAGE = _("数据库连接中断：这一步可能没有保存。请刷新案件页面，看清现状后再试。")


# PostgreSQL's codes for a session it ended: an administrator's or a shutdown's
# termination, a session idle in its transaction or idle too long, and the connection
# exceptions (class 08).
LOST_CODES = {"57P01", "57P02", "57P03", "25P03", "57P05"}


def is_connection_lost(exception: BaseException) -> bool:
    """The database ended this request's session (a restart, a session the server timed
    out) or could not be reached: the server rolled the transaction back, or the answer
    to its commit was lost. The person is told to look and try again (503), not shown a
    500. An error the server answered with another code is a real error."""
    from django.db import InterfaceError, OperationalError

    if not isinstance(exception, (OperationalError, InterfaceError)):
        return False
    cause = exception.__cause__
    code = getattr(cause, "pgcode", None)
    if code:
        return code in LOST_CODES or code.startswith("08")
    return type(cause).__module__.startswith("psycopg")  # the driver's own: no session


def drop_lost_connections() -> None:
    """Close the sessions the server ended, so that what follows (the page, the session
    cookie's row) opens a new one."""
    from django.db import connections

    for connection in connections.all(initialized_only=True):
        if connection.connection is not None and not connection.is_usable():
            connection.close()


class CalendarOncePerRequestMiddleware:
    """The holiday calendar is read at most once per request: a list of fifty cases
    tells each one's clock in working time (cases.clock) from one reading."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from .calendar import reading_once

        with reading_once():
            return self.get_response(request)


class PermissionsPolicyMiddleware:
    """The Permissions-Policy header from settings.PERMISSIONS_POLICY: each feature with
    the origins allowed to use it, none for a feature that is switched off
    (`camera=()`)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(
            f"{feature}=({' '.join(origins)})"
            for feature, origins in settings.PERMISSIONS_POLICY.items())

    def __call__(self, request):
        response = self.get_response(request)
        if self.header:
            response.headers.setdefault("Permissions-Policy", self.header)
        return response


class EdgeInputMiddleware:
    """Input no table can hold is refused at the door, with 400 and the field's name.

    PostgreSQL text cannot store NUL, UTF-8 cannot carry a lone surrogate, and a JSON body
    nested 100 000 levels deep makes the parser recurse until Python gives up: each would
    otherwise surface as a 500 from whichever query or parser met it first. Checked here
    for the path, every query-string key and value, every form field (urlencoded or
    multipart; not the files' contents) and every key and string of a JSON body. A body
    over DATA_UPLOAD_MAX_MEMORY_SIZE is answered 413. Pages get a short page in Chinese,
    the API gets JSON in its error shape ({"detail": ..., "errors": {field: [message]}},
    nested fields dotted: petitioner.name).
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
        from django.http.multipartparser import MultiPartParserError

        try:
            refusal = self.refusal(request)
        except RequestDataTooBig:
            return refuse(request, "body", _("提交的内容太大，超过了系统允许的大小。"), 413)
        except (SuspiciousOperation, MultiPartParserError, BadRequest, UnicodeDecodeError):
            return refuse(request, "body", _("提交的内容无法读取，请检查后重新提交。"), 400)
        if refusal:
            return refuse(request, *refusal, 400)
        return self.get_response(request)

    def refusal(self, request) -> tuple[str, str] | None:
        """(field, message) for the first thing refused, or None."""
        from .parsing import unstorable_in

        if unstorable_in(request.path_info):
            return "path", UNSTORABLE_MESSAGE
        for source in (request.GET, form_data(request)):
            for key, values in source.lists():
                if unstorable_in(key):
                    return printable(key), UNSTORABLE_MESSAGE
                if any(unstorable_in(value) for value in values if isinstance(value, str)):
                    return key, UNSTORABLE_MESSAGE
        if is_json(request):
            return json_refusal(request.body)
        return None


UNSTORABLE_MESSAGE = _("含有系统无法保存的字符（如空字符 \\0 或不成对的代理字符），请删除后重新提交。")
DEPTH_MESSAGE = _("JSON 嵌套层数太多（最多 %(depth)s 层）。")


def printable(text: str) -> str:
    """A field name fit to show back: the unstorable characters spelled out."""
    from .parsing import UNSTORABLE

    return UNSTORABLE.sub(lambda match: ascii(match[0])[1:-1], text)


def form_data(request):
    """The request's form fields, if its body is a form (urlencoded or multipart)."""
    from django.http import QueryDict

    content_type = request.META.get("CONTENT_TYPE", "")
    if request.method in ("GET", "HEAD", "OPTIONS") or not content_type.startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        return QueryDict()
    # request.POST for any method: Django only fills it for POST.
    if request.method == "POST":
        return request.POST
    return QueryDict(request.body, encoding=request.encoding) if content_type.startswith(
        "application/x-www-form-urlencoded") else QueryDict()


def is_json(request) -> bool:
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


def json_refusal(body: bytes) -> tuple[str, str] | None:
    """What a JSON body holds that is refused: too deep a nesting (found without parsing),
    an unstorable character in a key or a string. A body that is not JSON is left to the
    API's parser, which says so."""
    import json

    from django.conf import settings

    from .parsing import unstorable_in

    if not body:
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return "body", _("提交的内容不是有效的 UTF-8 文本。")
    if json_depth_exceeds(text, settings.JSON_MAX_DEPTH):
        return "body", DEPTH_MESSAGE % {"depth": settings.JSON_MAX_DEPTH}
    try:
        document = json.loads(text)
    except (ValueError, RecursionError):
        return None
    stack = [("", document)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{where}.{key}" if where else key
                if unstorable_in(key):
                    return printable(name), UNSTORABLE_MESSAGE
                stack.append((name, item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{index}]" if where else f"[{index}]", item)
                         for index, item in enumerate(value))
        elif isinstance(value, str) and unstorable_in(value):
            return where or "body", UNSTORABLE_MESSAGE
    return None


_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def json_depth_exceeds(text: str, limit: int) -> bool:
    """Whether the brackets outside strings nest deeper than `limit` (no parsing: counting
    cannot recurse)."""
    depth = 0
    for bracket in _JSON_BRACKET.findall(_JSON_STRING.sub('""', text)):
        if bracket in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def refuse(request, field: str, message, status: int):
    """The refusal, as JSON for the API (the API's error shape) or as a page naming the
    field."""
    from django.http import JsonResponse
    from django.shortcuts import render

    if request.path_info.startswith("/api/") or is_json(request):
        return JsonResponse({"detail": f"{field}：{message}", "errors": {field: [str(message)]}},
                            status=status,
                            json_dumps_params={"ensure_ascii": False})
    return render(request, "400.html", {"field": field, "message": message}, status=status)
