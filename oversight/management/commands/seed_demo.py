"""Demo data: departments, categories, one login per role, and cases in every state.

Every case is driven through the real services, each step at its own moment in the past
(the clock is moved with time-machine while seeding), so histories and deadlines are true.
"""

from datetime import timedelta

import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from cases.models import Case, Category, Channel, Department, Petitioner, State, TierPolicy
from cases.roles import Role
from dispatch import services as dispatch_services
from intake import learning
from intake import services as intake_services
from dispatch.models import ResponsibilityEntry
from feedback import services as feedback_services
from feedback.models import Phrase

from oversight import services as oversight_services
from oversight.figures import refresh_figures

DEMO_PASSWORD = "demo-pass-2026"

DEPARTMENTS = [
    ("XFB", "信访办公室", True),
    ("CGJ", "城市管理局", False),
    ("ZJJ", "住房和城乡建设局", False),
    ("SWJ", "水务局", False),
    ("GDJ", "供电公司", False),
    ("SJJ", "市场监督管理局", False),
    ("RSJ", "人力资源和社会保障局", False),
    ("JYJ", "教育局", False),
    ("HBJ", "生态环境局", False),
]

# category → [(subcategory, default tier, default department code)]
CATEGORIES = {
    "城市管理": [("占道经营", "T3", "CGJ"), ("违章搭建", "T3", "CGJ"), ("环境卫生", "T3", "CGJ")],
    "住房保障": [("物业管理", "T3", "ZJJ"), ("房屋质量", "T4", "ZJJ"), ("拆迁安置", "T4", "ZJJ")],
    "水电气暖": [("停水", "T2", "SWJ"), ("停电", "T2", "GDJ"), ("供暖不热", "T2", "ZJJ")],
    "劳动社保": [("拖欠工资", "T3", "RSJ"), ("社保缴纳", "T3", "RSJ")],
    "市场监管": [("食品安全", "T3", "SJJ"), ("消费纠纷", "T3", "SJJ")],
    "教育": [("入学招生", "T3", "JYJ"), ("校外培训", "T3", "JYJ")],
    "生态环境": [("噪声扰民", "T3", "HBJ"), ("污水排放", "T3", "HBJ")],
    "安全隐患": [("燃气泄漏", "T1", "CGJ"), ("危房险情", "T1", "ZJJ")],
}

USERS = [
    # user name, full name, role, department code (member), headed department code
    ("clerk", "李登记", Role.CLERK, None, None),
    ("dispatcher", "王派单", Role.DISPATCHER, "XFB", None),
    ("handler", "张承办", Role.HANDLER, "CGJ", None),
    ("head", "赵主任", Role.DEPARTMENT_HEAD, None, "CGJ"),
    ("supervisor", "陈督办", Role.SUPERVISOR, None, None),
    ("admin", "系统管理员", Role.ADMINISTRATOR, None, None),
]

# 常用语: (category, subcategory or None; None for every category), use, title, text
PHRASES = [
    (None, "reply", "答复开头",
     "{信访人}您好！您于{登记日期}反映的问题（编号{编号}）已交{办理单位}办理，现将办理情况答复如下："),
    (None, "reply", "告知复查途径",
     "如对本答复意见不服，可自收到本答复意见之日起30日内向{办理单位}的上一级行政机关提出复查申请。"),
    (None, "findings", "联系信访人核实",
     "承办人员已于受理后与信访人电话联系，了解了具体诉求，并于答复期限（{答复期限}）前完成调查核实。"),
    (("城市管理", None), "findings", "现场核查（城市管理）",
     "经{办理单位}执法人员到{发生地点}现场核查，"),
    (("城市管理", "占道经营"), "findings", "占道经营属实",
     "经执法人员于夜间到{发生地点}现场核查，反映的流动摊贩占道经营情况属实，影响行人通行和周边居民休息。"),
    (("城市管理", "占道经营"), "opinion", "责令清理占道",
     "依据《城市市容和环境卫生管理条例》，责令当事人立即清理占道物品，并将该路段列为早晚高峰巡查重点点位。"),
    (("城市管理", "占道经营"), "result", "占道已清理",
     "现场占道摊位已全部清理，{办理单位}已安排执法队员每日巡查，防止反弹。"),
    (("城市管理", "占道经营"), "reply", "占道经营答复",
     "经{办理单位}现场核查，您反映的{发生地点}占道经营问题属实。目前占道摊位已全部清理，"
     "该路段已纳入日常巡查。如再发现占道经营，可随时拨打12345反映。"),
    (("生态环境", "噪声扰民"), "findings", "噪声监测",
     "执法人员于夜间到{发生地点}进行噪声监测，监测结果超过《社会生活环境噪声排放标准》规定的限值。"),
    (("生态环境", "噪声扰民"), "opinion", "责令整改噪声",
     "依据《中华人民共和国噪声污染防治法》，责令噪声产生单位限期整改，采取隔声降噪措施，夜间22时后停止产生噪声的作业。"),
    (("生态环境", "噪声扰民"), "reply", "噪声扰民答复",
     "{信访人}您好，您反映的{发生地点}噪声扰民问题，{办理单位}已责令相关单位整改，"
     "整改后复测达标。我们将持续关注，如噪声再次超标，请及时反映。"),
    (("住房保障", None), "opinion", "约谈物业企业",
     "已约谈物业服务企业负责人，责令其按照物业服务合同约定履行维修、保洁和安全管理义务，并限期整改。"),
    (("住房保障", "物业管理"), "result", "物业整改完成",
     "物业服务企业已于整改期限内完成整改，{办理单位}组织回查确认，并将其纳入物业服务企业信用评价。"),
    (("住房保障", "物业管理"), "reply", "物业管理答复",
     "您反映的小区物业服务问题，{办理单位}已约谈物业服务企业并责令整改，目前已整改完毕。"
     "如对物业服务仍有意见，可向所在街道物业管理办公室反映。"),
]

PETITIONERS = [
    ("刘建国", "male", 58, "退休职工", "13800138001", "幸福路12号院3号楼"),
    ("孙丽华", "female", 42, "个体经营者", "13911112222", "光明街道和平里小区"),
    ("周明", "male", 35, "企业职员", "13622223333", "新城区阳光花园"),
    ("吴秀英", "female", 67, "退休教师", "010-62345678", "老城区东四胡同8号"),
    ("郑浩", "male", 29, "外卖骑手", "15033334444", "高新区人才公寓"),
    ("王芳", "female", 38, "护士", "18644445555", "滨河小区6号楼"),
]


class Command(BaseCommand):
    help = "Create demo departments, categories, one login per role and cases in every state."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed again even if the demo data is already there.")

    def handle(self, *args, force: bool = False, **options):
        if Department.objects.filter(code="XFB").exists() and not force:
            self.stdout.write("Demo data already present; nothing done (--force to add more).")
            return
        with transaction.atomic():
            departments = self._departments()
            self._categories(departments)
            self._routing_rules(departments)
            self._phrases()
            users = self._users(departments)
            petitioners = self._petitioners()
            count = self._cases(users, departments, petitioners)
        # The deadline sweep escalates the demo's late cases now, so supervision orders
        # and notifications are there before the first beat; and the dashboard's figures.
        self.stdout.write(f"{oversight_services.sweep_deadlines()} escalation steps taken")
        self.stdout.write(f"{refresh_figures()} cases counted")
        # The first triage model, from the shipped corpus (and the demo's closed cases),
        # so that the demo suggests from the start; retrained nightly after that.
        model = learning.train()
        self.stdout.write(f"triage model trained in {model.training_seconds:.1f} s: {model.label}")
        self.stdout.write(self.style.SUCCESS(
            f"Demo ready: {count} cases; log in as clerk, dispatcher, handler, head, "
            f"supervisor or admin with the password {DEMO_PASSWORD}"
        ))

    def _departments(self) -> dict[str, Department]:
        return {
            code: Department.objects.update_or_create(
                code=code, defaults={"name": name, "is_office": is_office}
            )[0]
            for code, name, is_office in DEPARTMENTS
        }

    def _categories(self, departments) -> None:
        tiers = {tier.code: tier for tier in TierPolicy.objects.all()}
        for order, (name, children) in enumerate(CATEGORIES.items()):
            parent, _ = Category.objects.get_or_create(
                name=name, parent=None, defaults={"sort_order": order}
            )
            for child_order, (child, tier, department) in enumerate(children):
                Category.objects.update_or_create(
                    name=child, parent=parent,
                    defaults={"default_tier": tiers[tier],
                              "default_department": departments[department],
                              "sort_order": child_order},
                )

    def _routing_rules(self, departments) -> None:
        """A few entries of the responsibility list (权责清单), so that the dispatch page
        suggests by wording too, with the list named as the reason."""
        for matter, keywords, code, priority in [
                ("餐饮油烟、异味、噪声污染", "油烟 异味 噪声", "HBJ", 10),
                ("住宅电梯运行与物业服务", "电梯困人 物业公司 物业费", "ZJJ", 20),
                ("拖欠劳动报酬与社会保险", "工资 欠薪 社保", "RSJ", 30),
                ("城市供水与停水", "停水 自来水 水压", "SWJ", 40),
                ("供电与停电", "停电 断电 电表", "GDJ", 50)]:
            ResponsibilityEntry.objects.get_or_create(
                matter=matter, defaults={"keywords": keywords, "department": departments[code],
                                         "priority": priority, "version": "2026年版"})

    def _phrases(self) -> None:
        """常用答复口径 and 常用办理用语 the demo's reply and result forms offer."""
        for order, (where, use, title, text) in enumerate(PHRASES):
            category = None
            if where is not None:
                top, sub = where
                category = (Category.objects.get(name=sub, parent__name=top) if sub
                            else Category.objects.get(name=top, parent=None))
            Phrase.objects.get_or_create(title=title, use=use, category=category,
                                         defaults={"text": text, "sort_order": order})

    def _users(self, departments) -> dict[str, object]:
        User = get_user_model()
        users = {}
        for username, full_name, role, member_of, heads in USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.first_name = full_name
            user.is_staff = role == Role.ADMINISTRATOR
            user.is_superuser = role == Role.ADMINISTRATOR
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.add(Group.objects.get(name=role))
            if member_of:
                departments[member_of].members.add(user)
            if heads:
                departments[heads].heads.add(user)
            users[username] = user
        return users

    def _petitioners(self) -> list[Petitioner]:
        return [
            Petitioner.objects.get_or_create(
                phone=phone,
                defaults={"name": name, "gender": gender, "age": age, "occupation": job,
                          "address": address},
            )[0]
            for name, gender, age, job, phone, address in PETITIONERS
        ]

    def _cases(self, users, departments, petitioners) -> int:
        clerk, dispatcher, handler = users["clerk"], users["dispatcher"], users["handler"]
        head = users["head"]
        sub = {c.name: c for c in Category.objects.filter(parent__isnull=False)}
        now = timezone.now()
        p = petitioners
        cases: dict[str, Case] = {}

        def at(hours_ago: float):
            return time_machine.travel(now - timedelta(hours=hours_ago), tick=False)

        def step(hours_ago, act, **arguments):
            with at(hours_ago):
                return act(**arguments)

        def to_in_handling(case, start, department="CGJ"):
            step(start, intake_services.accept_case, actor=clerk, case_id=case.pk)
            step(start - 0.5, dispatch_services.dispatch_case, actor=dispatcher, case_id=case.pk,
                 lead_department_id=departments[department].pk)
            step(start - 1, dispatch_services.department_accept_case, actor=handler, case_id=case.pk)

        def to_approved(case, start):
            to_in_handling(case, start)
            step(start - 2, dispatch_services.add_note, actor=handler, case_id=case.pk,
                 kind="contact", text="电话联系信访人，约定现场核查时间。", contact_method="phone",
                 reached=True)
            step(start - 20, dispatch_services.submit_result, actor=handler, case_id=case.pk,
                 findings="现场核查，反映情况属实。", opinion="依法责令整改，安排专人复查。",
                 result="经现场核查，已责令整改到位，并安排专人复查。", is_solved=True)
            step(start - 21, dispatch_services.approve_result, actor=head, case_id=case.pk, note="同意")
            step(start - 22, dispatch_services.approve_result, actor=dispatcher, case_id=case.pk)

        def to_replied(case, start):
            to_approved(case, start)
            step(start - 23, feedback_services.send_reply, actor=dispatcher, case_id=case.pk,
                 content="您反映的问题已由城市管理局核实处理，违规行为已整改。", channel="phone")

        def visited(satisfaction, comments=""):
            def steps(case, start):
                to_replied(case, start)
                step(start - 30, feedback_services.record_visit, actor=clerk, case_id=case.pk,
                     method="phone", reached=True, is_solved=satisfaction != "unsatisfied",
                     satisfaction=satisfaction, comments=comments)
            return steps

        def archived(case, start):
            visited("basically")(case, start)
            step(start - 31, feedback_services.archive_case, actor=dispatcher, case_id=case.pk)

        def accepted(case, start):
            step(start - 0.1, intake_services.accept_case, actor=clerk, case_id=case.pk)

        def dispatched_to(code):
            def steps(case, start):
                step(start - 0.1, intake_services.accept_case, actor=clerk, case_id=case.pk)
                step(start - 0.2, dispatch_services.dispatch_case, actor=dispatcher, case_id=case.pk,
                     lead_department_id=departments[code].pk)
            return steps

        def returned(case, start):
            dispatched_to("CGJ")(case, start)
            step(start - 1, dispatch_services.return_case, actor=handler, case_id=case.pk,
                 reason="加装电梯属住房和城乡建设局职责，不属本部门。")

        def submitted(case, start):
            to_in_handling(case, start)
            step(start - 30, dispatch_services.submit_result, actor=handler, case_id=case.pk,
                 findings="顶层住户未经审批搭建阳光房属实。", opinion="下达限期拆除通知书。",
                 result="已下达限期拆除通知书，当事人承诺7日内自行拆除。", is_solved=False)

        def answered(case, start):
            step(start - 0.1, intake_services.answer_on_the_spot, actor=clerk, case_id=case.pk,
                 answer="可持身份证到户籍所在地社保经办机构或通过政务服务网办理灵活就业参保登记。")

        def refused(case, start):
            step(start - 0.1, intake_services.refuse_case, actor=clerk, case_id=case.pk,
                 reason="属于诉讼事项，依法不属信访受理范围。",
                 guidance="请依照民事诉讼法向作出判决的人民法院或上级法院申请再审。")

        def merged(case, start):
            step(start - 0.2, intake_services.merge_case, actor=clerk, case_id=case.pk,
                 into_number=cases["stalls"].number, note="与前案为同一事项")

        def withdrawn(case, start):
            step(start - 1, intake_services.accept_case, actor=clerk, case_id=case.pk)
            step(start - 2, intake_services.withdraw_case, actor=clerk, case_id=case.pk,
                 reason="信访人来电告知已与邻居协商解决，申请撤回。")

        def escalated(case, start):
            step(start - 0.5, intake_services.accept_case, actor=dispatcher, case_id=case.pk)
            step(start - 1, dispatch_services.escalate_case, actor=dispatcher, case_id=case.pk,
                 note="涉及群体利益，呈领导批示")

        def direct(case, start):
            step(start - 1, intake_services.accept_case, actor=dispatcher, case_id=case.pk)
            step(start - 2, dispatch_services.handle_directly, actor=dispatcher, case_id=case.pk,
                 note="涉及本办工作人员，直接调查")

        def nothing(case, start):
            pass

        # key, hours ago, petitioner, channel, summary, content, subcategory, extra, steps
        scenarios = [
            ("night_market", 0.5, p[0], Channel.VISIT, "小区门口夜市占道经营，噪音大",
             "幸福路12号院门口每晚有十余个摊位占道经营，至凌晨仍有噪音，影响老人休息。",
             "占道经营", {"place": "幸福路12号院门口"}, nothing),
            ("fumes", 3, p[1], Channel.PHONE, "楼下餐馆油烟直排",
             "和平里小区底商餐馆油烟未经净化直排，住户无法开窗。", "环境卫生", {}, accepted),
            ("stalls", 30, p[2], Channel.WEB, "阳光花园东门流动摊贩占道",
             "阳光花园东门早晚高峰流动摊贩占用人行道，行人只能走机动车道。", "占道经营",
             {"place": "阳光花园东门"}, dispatched_to("CGJ")),
            ("lift", 26, p[3], Channel.LETTER, "老旧小区加装电梯进度",
             "东四胡同8号楼加装电梯已公示半年，至今未开工，请告知进度。", "物业管理", {},
             returned),
            ("wages", 50, p[4], Channel.HOTLINE_12345, "外卖平台拖欠骑手工资",
             "所在站点拖欠两个月工资共计一万二千元，多次讨要无果。", "拖欠工资",
             {"external_reference": "12345-20261120-0087"}, dispatched_to("RSJ")),
            ("sunroom", 72, p[5], Channel.VISIT, "违章搭建阳光房遮挡采光",
             "滨河小区6号楼顶层住户违章搭建阳光房，遮挡相邻住户采光。", "违章搭建",
             {"place": "滨河小区6号楼"}, submitted),
            ("gym", 96, p[0], Channel.PHONE, "公园健身器材损坏",
             "滨河公园健身器材多处损坏，存在安全隐患。", "环境卫生", {}, to_approved),
            ("manhole", 120, p[1], Channel.WEB, "道路井盖缺失",
             "和平路与建设街交叉口井盖缺失，夜间危险。", "环境卫生", {}, to_replied),
            ("garbage", 150, p[2], Channel.VISIT, "垃圾清运不及时",
             "阳光花园垃圾站三天未清运，异味严重。", "环境卫生", {},
             visited("satisfied", "已清运，很满意。")),
            ("parking", 200, p[3], Channel.LETTER, "小区绿地被占用停车",
             "东四胡同公共绿地被改作停车场。", "违章搭建", {}, archived),
            ("pension", 5, p[4], Channel.PHONE, "咨询灵活就业社保缴纳办法",
             "询问灵活就业人员如何缴纳养老保险。", "社保缴纳", {}, answered),
            ("judgment", 6, p[5], Channel.VISIT, "要求撤销已生效的民事判决",
             "对法院已生效的民事判决不服，要求信访部门撤销。", "消费纠纷", {}, refused),
            ("stalls_again", 27, p[2], Channel.PHONE, "阳光花园东门摊贩又出现了",
             "同一问题再次反映：东门人行道被摊贩占用。", "占道经营", {"earlier": "stalls"},
             merged),
            ("noise", 10, p[0], Channel.PHONE, "邻里噪声纠纷", "楼上住户装修噪声扰民。",
             "噪声扰民", {}, withdrawn),
            ("resettlement", 8, p[1], Channel.VISIT, "拆迁安置房逾期未交付",
             "三十余户安置房逾期两年未交付，群众情绪激动。", "拆迁安置",
             {"is_collective": True, "head_count": 12, "is_sensitive": True}, escalated),
            ("window", 30.5, p[3], Channel.LETTER, "反映信访办窗口服务态度",
             "来访时窗口人员态度生硬。", "消费纠纷", {}, direct),
            ("gas", 4, p[4], Channel.PHONE, "楼道内燃气味浓",
             "高新区人才公寓3单元楼道燃气味很浓，担心泄漏。", "燃气泄漏",
             {"place": "高新区人才公寓3单元"}, dispatched_to("CGJ")),
            ("streetlights", 300, p[5], Channel.VISIT, "小区路灯长期不亮",
             "滨河小区主路路灯长期不亮。", "环境卫生", {},
             visited("unsatisfied", "只修了一盏，其余仍不亮。")),
        ]
        # Register oldest first, so that numbers follow registration time.
        scenarios.sort(key=lambda scenario: -scenario[1])
        for key, hours_ago, petitioner, channel, summary, content, category, extra, _ in (
            scenarios
        ):
            extra = dict(extra)
            if "earlier" in extra:
                extra["earlier_case"] = cases[extra.pop("earlier")]
            with at(hours_ago):
                cases[key] = intake_services.register_case(
                    actor=clerk, channel=channel, petitioner=petitioner, summary=summary,
                    content=content, category=sub[category], **extra)
        for key, hours_ago, *_, steps in scenarios:
            steps(cases[key], hours_ago - 0.05)

        missing = set(State.values) - set(Case.objects.values_list("state", flat=True))
        if missing:
            self.stderr.write(f"States without a demo case: {sorted(missing)}")
        return len(cases)
