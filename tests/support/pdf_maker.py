"""PDFs the tests write themselves, in any script: reportlab with the DejaVu Sans font matplotlib ships
(a dependency already), so Cyrillic or Greek text gets a real text layer without a Debian font package."""

from __future__ import annotations

from pathlib import Path

# A Russian document of four pages, each on its own subject (what a question should find), each long enough
# (over 1000 characters) to be a chunk of its own.
RUSSIAN_PAGES = [
    ["Озеро Байкал",
     "Байкал — самое глубокое озеро на планете: его наибольшая глубина составляет тысячу шестьсот сорок два "
     "метра. В озере хранится около двадцати процентов мировых запасов пресной воды.",
     "Зимой лёд на Байкале бывает настолько прозрачным, что сквозь него видно камни на дне. Толщина льда к концу "
     "февраля достигает метра, и по нему прокладывают дороги между посёлками на берегах и на острове Ольхон.",
     "В озеро впадает больше трёхсот рек, а вытекает только одна — Ангара. Учёные считают, что возраст озера "
     "превышает двадцать пять миллионов лет, и большая часть его животных и растений не встречается больше нигде, "
     "например байкальская нерпа и рыба омуль."],
    ["Расписание поездов",
     "Скорый поезд из Москвы в Санкт-Петербург отправляется с Ленинградского вокзала каждое утро в семь часов. "
     "Дорога занимает около четырёх часов.",
     "Билеты лучше покупать заранее, потому что в пятницу вечером свободных мест почти не остаётся. Пассажиры с "
     "детьми могут выбрать семейный вагон, а в вагоне-ресторане подают завтрак и горячий чай.",
     "Вечерний поезд уходит в двадцать один час тридцать минут и прибывает на Московский вокзал Петербурга после "
     "полуночи. Расписание меняется в праздничные дни, поэтому перед поездкой стоит проверить время отправления "
     "на табло или в кассе вокзала."],
    ["Ржаной хлеб",
     "Для ржаного хлеба на закваске нужны мука, вода, соль и немного тмина. Закваску готовят за несколько дней, "
     "каждый день подкармливая её свежей мукой.",
     "Тесто замешивают вечером и оставляют бродить на всю ночь в тёплом месте. Утром его перекладывают в форму, "
     "смазанную маслом, и дают подняться ещё час, пока объём не увеличится почти вдвое.",
     "Выпекают хлеб в горячей духовке около часа, пока корочка не станет тёмной и хрустящей. Готовый каравай "
     "заворачивают в полотенце и дают остыть, потому что горячий ржаной мякиш липкий и плохо режется ножом."],
    ["Городская библиотека",
     "Городская библиотека была основана в тысяча восемьсот девяностом году на пожертвования купцов. Первое здание "
     "стояло на берегу реки и сгорело во время большого пожара.",
     "Новое каменное здание построили через десять лет по проекту губернского архитектора. Сегодня в её фондах "
     "больше трёхсот тысяч книг, старинные карты и рукописи, которые можно увидеть только в читальном зале.",
     "По субботам в читальном зале проходят лекции по истории края для школьников и их родителей. Записаться в "
     "библиотеку может любой житель города, для этого нужен только паспорт, а книги выдают на срок до трёх недель."],
]


def font_path() -> Path:
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def text_pdf(path: Path, pages: list[list[str]]) -> Path:
    """One page per list of paragraphs (the first is set as a heading), wrapped to the page width."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate

    pdfmetrics.registerFont(TTFont("DejaVuSans", str(font_path())))
    body = ParagraphStyle("body", fontName="DejaVuSans", fontSize=11, leading=15, spaceAfter=8)
    heading = ParagraphStyle("heading", parent=body, fontSize=16, leading=20, spaceAfter=12)
    story = []
    for number, paragraphs in enumerate(pages):
        if number:
            story.append(PageBreak())
        story.append(Paragraph(paragraphs[0], heading))
        story += [Paragraph(text, body) for text in paragraphs[1:]]
    SimpleDocTemplate(str(path), pagesize=A4).build(story)
    return path


def russian_pdf(path: Path) -> Path:
    return text_pdf(path, RUSSIAN_PAGES)
