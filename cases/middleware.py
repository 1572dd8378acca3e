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
                "conflict": isinstance(exception, CaseConflictError),
            }, status=409)
        if is_contention(exception):
            return render(request, "cases/refused.html", {
                "message": CONTENTION_MESSAGE, "conflict": True}, status=409)
        return None


# PostgreSQL's codes for a deadlock, a lock not obtained in lock_timeout, a statement
# cancelled by statement_timeout, and serialisation failures.
CONTENTION_CODES = {"40P01", "55P03", "57014", "40001"}
CONTENTION_MESSAGE = _("系统繁忙：案件正被他人处理，请稍后重试。")


def is_contention(exception: BaseException) -> bool:
    """A database error that only means "someone else holds it now": try again."""
    from .services import contention_code

    return contention_code(exception) in CONTENTION_CODES


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
