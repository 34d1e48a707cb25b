"""The torch side: a HF encoder run over input windows, its output merged per wordpiece."""
from typing import Any, List, Sequence, Tuple

import torch
from torch import Tensor

from .cpu_inference import bfloat16_autocast, quantize_int8, warn_if_emulated
from .lora import weights_changed as lora_weights_changed


class WindowedEncoder(torch.nn.Module):
    """Runs `encoder` over padded windows in sub-batches and maps its last hidden state
    back onto the batch's wordpieces (each wordpiece once, averaged over the windows that
    hold it).

    Args:
        encoder: a HF encoder (`encoder(input_ids=, attention_mask=)` returning
            `last_hidden_state` and, on request, `hidden_states`).
        output_hidden_states: also return every layer's hidden states.

    Attributes:
        cpu_inference: "float32", "bfloat16" or "int8" (cpu_inference.py): the arithmetic
            of predictions (eval mode) on the CPU; training mode and a GPU use `encoder`
            as it is.
    """

    def __init__(self, *, encoder: torch.nn.Module, output_hidden_states: bool = False,
                 cpu_inference: str = "float32"):
        super().__init__()
        self.encoder = encoder
        self.output_hidden_states = output_hidden_states
        self.cpu_inference = cpu_inference
        # The int8 copy, in a tuple so that torch does not register it as a submodule (its
        # packed weights would join the parameters the optimizer and state_dict see).
        self._int8: Tuple[torch.nn.Module, ...] = ()

    def weights_changed(self) -> None:
        """Drop the int8 copy and the LoRA layers' merged weights: they are made again
        from the new weights when next used."""
        self._int8 = ()
        lora_weights_changed(self.encoder)

    def forward(self, input_ids: Tensor, attention_mask: Tensor,
                groups: Sequence[Tuple[Tensor, int]], positions: Tensor,
                targets: Tensor | None, scale: Tensor | None, n_wordpieces: int
                ) -> Tuple[Tensor, ...]:
        """
        Args:
            input_ids: (n_windows, seq_len) int64.
            attention_mask: (n_windows, seq_len) bool or int.
            groups: sub-batches as (rows (n_rows,) int64, padded length).
            positions: (n_content,) int64 flat index (row * seq_len + column) of each
                wordpiece position.
            targets: (n_content,) int64 wordpiece each position belongs to; None when
                positions are the wordpieces in order (each once).
            scale: (n_wordpieces, 1) 1 / number of windows holding each wordpiece; None
                when no wordpiece is in two windows.
            n_wordpieces: rows of the merged output.

        Returns:
            (wordpiece_output, *hidden): wordpiece_output (n_wordpieces, width) float32;
            hidden: each (n_windows, seq_len, width), the embeddings and every layer when
            `output_hidden_states`, else only the last layer.
        """
        n_windows, seq_len = input_ids.shape
        layers = self._run_groups(input_ids, attention_mask, groups, seq_len)
        last = layers[-1]
        flat = last.reshape(n_windows * seq_len, -1)
        if targets is None:
            merged = flat.index_select(0, positions)
        else:
            merged = flat.new_zeros((n_wordpieces, flat.shape[1])).index_add(
                0, targets, flat.index_select(0, positions))
            if scale is not None:
                merged = merged * scale
        return (merged.float(), *layers)

    def _run_groups(self, input_ids: Tensor, attention_mask: Tensor,
                    groups: Sequence[Tuple[Tensor, int]], seq_len: int) -> List[Tensor]:
        n_windows = input_ids.shape[0]
        if len(groups) == 1 and len(groups[0][0]) == n_windows and groups[0][1] == seq_len:
            return self._encode(input_ids, attention_mask)
        per_group = []
        for rows, length in groups:
            out = self._encode(input_ids[rows, :length], attention_mask[rows, :length])
            per_group.append([torch.nn.functional.pad(h, (0, 0, 0, seq_len - length))
                              for h in out])
        order = torch.cat([rows for rows, _ in groups])
        inverse = torch.empty_like(order)
        inverse[order] = torch.arange(len(order), device=order.device)
        return [torch.cat([g[k] for g in per_group])[inverse]
                for k in range(len(per_group[0]))]

    def _encode(self, input_ids: Tensor, attention_mask: Tensor) -> List[Tensor]:
        precision = self.cpu_inference
        if self.training or input_ids.device.type != "cpu":
            precision = "float32"
        encoder = self._int8_encoder() if precision == "int8" else self.encoder
        if precision == "bfloat16":
            warn_if_emulated()
        with bfloat16_autocast(precision == "bfloat16"):
            output = encoder(input_ids=input_ids, attention_mask=attention_mask,
                             output_hidden_states=self.output_hidden_states)
        hidden = list(output.hidden_states) if self.output_hidden_states \
            else [output.last_hidden_state]
        # bfloat16 comes back as float32, as trained (mixed_precision's GPU fp16 stays)
        return [h.float() for h in hidden] if precision == "bfloat16" else hidden

    def _int8_encoder(self) -> Any:
        if not self._int8:
            self._int8 = (quantize_int8(self.encoder),)
        return self._int8[0]
