"""Two printable sheets for the client, in plain, warm words: one to prepare for the session,
one to take home afterwards.

They carry no vitals, doses, ratings or clinical notes: the preparation sheet holds the
client's own intention; the take-home sheet holds the worksheet's questions, with only the
answers the client chose to share (the worksheet's "shared" list) filled in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from reportlab.lib.units import mm
from reportlab.platypus import Flowable, KeepTogether, Paragraph, Spacer

from kapsession.exports import pdf_base as pb
from kapsession.exports import summary as s

WHICH = ("preparation", "integration")

EXPECT = (
    "You will rest lying down, with eyeshades and headphones if you like. Music has been chosen "
    "to carry you gently from settling in, through the heart of the session, and back again.",
    "The medicine usually begins to be felt within a few minutes to half an hour, depending on "
    "how it is given. Thoughts, images, feelings and body sensations may come and go. Some "
    "moments may feel beautiful, some strange or hard; all of it is welcome, and none of it "
    "has to be held on to.",
    "Your therapist stays with you the whole time, and will quietly check in with you now and "
    "then. You can speak, ask for anything, or simply rest. If you want the music quieter or "
    "off, just say so.",
    "Afterwards there is time to come back slowly. Someone you trust will take you home; plan "
    "a quiet rest of the day, without driving or important decisions.",
)
BEFORE = (
    "Follow what your prescriber told you about eating and drinking beforehand.",
    "Wear comfortable, warm clothes; bring anything that helps you feel at home.",
    "Arrange your ride home, and keep the rest of the day free.",
)
GROUNDING = (
    (
        "Breathing to arrive",
        "Sit or lie comfortably. Breathe in through the nose for a count of four, and out a "
        "little longer, for a count of six. Let your shoulders drop on each out-breath. Ten "
        "breaths like this are enough.",
    ),
    (
        "Five senses",
        "Notice five things you can see, four you can feel, three you can hear, two you can "
        "smell, and one you can taste. It brings you back to the room, whenever you need it.",
    ),
    (
        "Feet on the ground",
        "Press your feet gently into the floor, or feel the weight of your body on the "
        "mattress. Say to yourself: I am here, I am safe, this will pass.",
    ),
)
INTENTION_PROMPTS = (
    "What would you like to understand, feel or let go of?",
    "Say it in a few words, as a wish rather than a goal: \u201cMay I ...\u201d or \u201cI am "
    "open to ...\u201d.",
    "Hold it lightly. On the day, say it once at the start, then let it go and trust whatever "
    "comes.",
)
AFTER_INTRO = (
    "The days after a session are a good time to notice what has shifted, however small. These "
    "questions are the ones we will explore together. Write, draw or jot down single words: "
    "there are no right answers."
)
AFTER_PRACTICES = (
    "Give yourself quiet time: a walk, a bath, music, time in nature.",
    "Write down images, words or feelings as they come back, even fragments.",
    "Be gentle with yourself. Strong feelings can come and go for a few days.",
    "If anything feels too much, contact your therapist.",
)


class Lines(Flowable):  # type: ignore[misc]
    """Ruled lines to write on."""

    def __init__(self, count: int, gap: float = 9 * mm) -> None:
        super().__init__()
        self.count, self.gap = count, gap

    def wrap(self, avail_width: float, avail_height: float) -> tuple[float, float]:
        self.width = avail_width
        return avail_width, self.count * self.gap

    def draw(self) -> None:
        self.canv.setStrokeColor(pb.RULE)
        self.canv.setLineWidth(0.6)
        for i in range(self.count):
            y = i * self.gap
            self.canv.line(0, y, self.width, y)


def _opening(sm: s.Summary, st: dict[str, Any], title: str) -> list[Flowable]:
    out: list[Flowable] = []
    if sm.rehearsal:
        out.append(
            Paragraph(pb.para("Rehearsal - a practice sheet, not for a client"), st["banner"])
        )
    out.append(Paragraph(pb.para(title), st["hand_title"]))
    return out


def preparation(doc: Mapping[str, Any]) -> bytes:
    sm = s.summarize(doc)
    st = pb.styles()
    story = _opening(sm, st, "Preparing for your session")
    story.append(
        Paragraph(
            "This sheet is for you to keep. Read it when you like, and bring any questions "
            "to your therapist.",
            st["hand"],
        )
    )
    story.append(Paragraph("Your intention", st["hand_h"]))
    if sm.intention:
        story += pb.paragraphs(sm.intention, st["hand_quote"])
        story.append(
            Paragraph(
                "In your own words, as you said it. You can change it at any time.", st["hand"]
            )
        )
    else:
        story.append(Paragraph("Write your intention here, in your own words:", st["hand"]))
        story += [Spacer(1, 4 * mm), Lines(3)]
    story.append(Paragraph("Setting an intention", st["hand_h"]))
    story += [Paragraph("• " + pb.para(p), st["hand"]) for p in INTENTION_PROMPTS]
    story.append(Paragraph("What to expect", st["hand_h"]))
    story += [Paragraph(pb.para(p), st["hand"]) for p in EXPECT]
    story.append(Paragraph("Before the day", st["hand_h"]))
    story += [Paragraph("• " + pb.para(p), st["hand"]) for p in BEFORE]
    story.append(Paragraph("Simple grounding practices", st["hand_h"]))
    for name, how in GROUNDING:
        story.append(
            KeepTogether(
                [
                    Paragraph(f"<b>{pb.para(name)}</b>", st["hand"]),
                    Paragraph(pb.para(how), st["hand"]),
                ]
            )
        )
    story.append(Paragraph("Your notes", st["hand_h"]))
    story += [Spacer(1, 4 * mm), Lines(5)]
    return pb.build(
        story,
        title="Preparing for your session",
        rehearsal=sm.rehearsal,
        footer="kapsession · preparation sheet" + (" · REHEARSAL" if sm.rehearsal else ""),
        rehearsal_text="REHEARSAL - practice sheet, not for a client",
    )


def integration(doc: Mapping[str, Any]) -> bytes:
    sm = s.summarize(doc)
    st = pb.styles()
    story = _opening(sm, st, "After your session: taking it with you")
    story.append(Paragraph(pb.para(AFTER_INTRO), st["hand"]))
    if sm.intention:
        story.append(Paragraph("The intention you brought", st["hand_h"]))
        story += pb.paragraphs(sm.intention, st["hand_quote"])
    answers = sm.answers()
    shared = set(sm.shared_keys())
    for key, question in s.WORKSHEET_QUESTIONS:
        block: list[Flowable] = [Paragraph(pb.para(question), st["hand_h"])]
        answer = answers.get(key, "").strip() if key in shared else ""
        if answer:
            block.append(Paragraph("What you chose to keep from our conversation:", st["small"]))
            block += pb.paragraphs(answer, st["hand_quote"])
        block += [Spacer(1, 3 * mm), Lines(4 if answer else 5)]
        story.append(KeepTogether(block))
    story.append(Paragraph("In the days after", st["hand_h"]))
    story += [Paragraph("• " + pb.para(p), st["hand"]) for p in AFTER_PRACTICES]
    return pb.build(
        story,
        title="After your session",
        rehearsal=sm.rehearsal,
        footer="kapsession · take-home sheet" + (" · REHEARSAL" if sm.rehearsal else ""),
        rehearsal_text="REHEARSAL - practice sheet, not for a client",
    )


def render(doc: Mapping[str, Any], which: str) -> bytes:
    if which == "preparation":
        return preparation(doc)
    if which == "integration":
        return integration(doc)
    raise ValueError(f"unknown handout {which!r}")
