"""The Chat tab's settings column (adapter, thinking, the template's own switches, system prompt, sampling) and the
mapping between its controls and a chat's settings JSON, which is where the values live (read back on every page load).

"Keep earlier reasoning" (preserve_thinking) and "Reasoning effort" show only when the loaded model's chat template
reads that switch (Qwen3.6 / 3.8); hidden, they keep the chat's values, which the engine leaves out for a model
without the switch (engine.chat_turn.chat_switches)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr

from engine.models.generation import GenerationParams, generation_presets
from engine.models.thinking import REASONING_EFFORTS
from engine.studio import Studio
from ui.i18n import current_language, say, t

NONE_ADAPTER = "none"
TEMPLATE_EFFORT = "default"   # the reasoning-effort choice that passes none: the template's own default
PARAM_NAMES = ("temperature", "top_p", "top_k", "min_p", "repetition_penalty", "max_new_tokens", "seed")


@dataclass
class Controls:
    adapter: gr.Dropdown
    thinking: gr.Checkbox
    preserve: gr.Checkbox
    effort: gr.Dropdown
    system: gr.Textbox
    preset: gr.Dropdown
    params: list[gr.components.Component]
    stop: gr.Textbox

    def all(self) -> list[gr.components.Component]:
        return [self.adapter, self.thinking, self.preserve, self.effort, self.system, self.preset, *self.params,
                self.stop]


def settings_from_controls(adapter: str, thinking: bool, preserve: bool, effort: str, system: str, preset: str,
                           *rest: Any) -> dict[str, Any]:
    values, stop_text = rest[:len(PARAM_NAMES)], rest[len(PARAM_NAMES)]
    raw = dict(zip(PARAM_NAMES, values, strict=True))
    raw["top_k"], raw["max_new_tokens"], raw["seed"] = int(raw["top_k"]), int(raw["max_new_tokens"]), int(raw["seed"])
    raw["stop"] = [s for s in (stop_text or "").splitlines() if s]
    params = GenerationParams.from_dict(raw)
    return {"adapter": "" if adapter in (None, NONE_ADAPTER) else adapter, "thinking": bool(thinking),
            "preserve_thinking": bool(preserve), "reasoning_effort": effort_setting(effort),
            "system_prompt": system or "", "preset": preset or "", "params": params.to_dict(),
            "language": current_language()}   # the prompts Lorag writes for the model follow the page's language


def default_settings(studio: Studio) -> dict[str, Any]:
    current = studio.models.current if studio.started_models() else None
    thinking = bool(current and current.thinking != "none")
    preset = "default"
    if current is not None:
        preset = current.thinking_preset if thinking and current.thinking_preset else current.generation_preset
    return {"adapter": "", "thinking": thinking, "preserve_thinking": False, "reasoning_effort": "",
            "system_prompt": "", "preset": preset, "params": GenerationParams.from_preset(preset).to_dict()}


def controls_from_settings(studio: Studio, settings: dict[str, Any]) -> list[Any]:
    merged = {**default_settings(studio), **{k: v for k, v in settings.items() if v is not None}}
    params = GenerationParams.from_dict(merged["params"])
    return [adapter_choices(studio, merged["adapter"] or NONE_ADAPTER), thinking_control(studio, merged["thinking"]),
            *switch_controls(studio, merged["preserve_thinking"], merged["reasoning_effort"]),
            merged["system_prompt"], merged["preset"], *[getattr(params, n) for n in PARAM_NAMES],
            "\n".join(params.stop)]


def adapter_choices(studio: Studio, value: str | None = None) -> dict[str, Any]:
    """The dropdown re-listed from disk: a freshly trained adapter shows without a restart."""
    names = studio.adapters.names()
    value = value if value in names else NONE_ADAPTER
    return gr.update(choices=[(say("common.none"), NONE_ADAPTER), *names], value=value)


def relist_adapters(studio: Studio, current: str | None) -> dict[str, Any]:
    """Fresh choices on focus or tab selection. The value is written only when its adapter is gone: these
    events race with opening a chat, and a late write-back of the old value would undo the chat's adapter."""
    update = adapter_choices(studio, current)
    if update["value"] == (current or NONE_ADAPTER):
        del update["value"]
    return update


def thinking_control(studio: Studio, value: bool) -> dict[str, Any]:
    current = studio.models.current
    mode = current.thinking if current is not None else "none"
    info = say(f"chat_settings.thinking_{mode}")
    return gr.update(value=bool(value) if mode != "none" else False, interactive=mode == "switchable", info=info)


def effort_setting(choice: str | None) -> str:
    """The dropdown's choice as the chat stores it: '' is the template's default."""
    return "" if choice in (None, "", TEMPLATE_EFFORT) else str(choice)


def effort_choices(label: Any) -> list[tuple[Any, str]]:
    """The levels Qwen3.8's template accepts, after the template's own default (`label`)."""
    return [(label, TEMPLATE_EFFORT), *[(level, level) for level in REASONING_EFFORTS]]


def switch_controls(studio: Studio, preserve: bool, effort: str) -> list[dict[str, Any]]:
    """The preserve_thinking checkbox and the reasoning-effort dropdown: shown when the loaded model's template
    reads the switch; their values stay the chat's either way (a hidden value is not sent to the model)."""
    current = studio.models.current if studio.started_models() else None
    switches = set(current.switches) if current is not None else set()
    effort = effort if effort in REASONING_EFFORTS else TEMPLATE_EFFORT
    return [gr.update(value=bool(preserve), visible="preserve_thinking" in switches),
            gr.update(choices=effort_choices(say("chat_settings.effort_template_default")), value=effort,
                      visible="reasoning_effort" in switches)]


def settings_panel() -> Controls:
    presets = generation_presets()
    defaults = GenerationParams()
    with gr.Group():
        adapter = gr.Dropdown(choices=[(t("common.none"), NONE_ADAPTER)], value=NONE_ADAPTER,
                              label=t("chat_settings.lora_adapter"),
                              info=t("chat_settings.swapped_in_for"), elem_id="chat-adapter",
                              allow_custom_value=False)
        thinking = gr.Checkbox(label=t("chat_settings.thinking"), value=False, elem_id="chat-thinking")
        preserve = gr.Checkbox(label=t("chat_settings.keep_earlier_reasoning"), value=False, visible=False,
                               info=t("chat_settings.keep_earlier_reasoning_info"), elem_id="chat-preserve-thinking")
        effort = gr.Dropdown(choices=effort_choices(t("chat_settings.effort_template_default")),
                             value=TEMPLATE_EFFORT, label=t("chat_settings.reasoning_effort"), visible=False,
                             info=t("chat_settings.reasoning_effort_info"), elem_id="chat-reasoning-effort")
        system = gr.Textbox(label=t("chat_settings.system_prompt"), lines=3, elem_id="chat-system",
                            placeholder=t("chat_settings.empty_the_model"))
    with gr.Accordion(t("chat_settings.sampling"), open=False):
        preset = gr.Dropdown(choices=[(p.get("label", n), n) for n, p in presets.items()], value="default",
                             label=t("chat_settings.preset"), elem_id="chat-preset")
        params = [
            gr.Slider(0, 2, value=defaults.temperature, step=0.05, label=t("chat_settings.temperature_0_greedy")),
            gr.Slider(0.05, 1, value=defaults.top_p, step=0.01, label=t("chat_settings.top_p")),
            gr.Slider(0, 200, value=defaults.top_k, step=1, label=t("chat_settings.top_k_0")),
            gr.Slider(0, 0.5, value=defaults.min_p, step=0.01, label=t("chat_settings.min_p_0")),
            gr.Slider(0.8, 2, value=defaults.repetition_penalty, step=0.01,
                      label=t("chat_settings.repetition_penalty")),
            gr.Slider(16, 8192, value=defaults.max_new_tokens, step=16, label=t("chat_settings.max_new_tokens"),
                      elem_id="chat-max-tokens"),
            gr.Number(value=-1, precision=0, label=t("chat_settings.seed_1_random")),
        ]
        stop = gr.Textbox(label=t("chat_settings.stop_strings_one"), lines=2)
    return Controls(adapter, thinking, preserve, effort, system, preset, params, stop)
