from django.conf import settings
from django.utils import translation
from django.utils.translation import check_for_language


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
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", request.LANGUAGE_CODE)
        return response
