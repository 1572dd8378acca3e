from django.http import HttpResponse

from cases.exceptions import CaseConflictError, CaseTransitionError
from cases.middleware import CaseErrorMiddleware


def make_middleware():
    return CaseErrorMiddleware(lambda request: HttpResponse("ok"))


def test_a_refused_move_becomes_a_readable_409_page(rf, world):
    request = rf.post("/")
    request.user = world.clerk
    response = make_middleware().process_exception(
        request, CaseTransitionError("案件 XF-2026-000001 当前状态为「已受理」，不能受理。")
    )
    assert response.status_code == 409
    page = response.content.decode()
    assert "当前状态为「已受理」，不能受理" in page and "案件没有任何改动" in page


def test_a_conflict_says_the_page_is_stale(rf, world):
    request = rf.post("/")
    request.user = world.clerk
    response = make_middleware().process_exception(request, CaseConflictError("已被他人处理"))
    assert "已经过时" in response.content.decode()


def test_other_errors_are_left_to_django(rf):
    assert make_middleware().process_exception(rf.get("/"), ValueError("x")) is None


def test_an_unknown_page_answers_the_chinese_404(client, world):
    client.force_login(world.clerk)
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and "没有找到" in response.content.decode()
