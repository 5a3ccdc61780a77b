"""Surveys from an interaction to an answer: intake, contacts, planning, the timeline
(due, remind, expire), prompts, answers, the relationship survey, consent and privacy."""
