"""code-analysis: functions, classes and cyclomatic complexity of a Python snippet."""

import ast
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agents.base import Answer, BaseAgent, LLMSession, rating_prompt

BRANCHES = (
    ast.If,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.IfExp,
    ast.ExceptHandler,
    ast.Assert,
    ast.match_case,
)
# A snippet that does not parse can only be reviewed, not measured.
SYNTAX_ERROR_CONFIDENCE_CAP = 0.3


class CodeAnalysisRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=20_000)
    language: Literal["python"] = "python"


def complexity(node: ast.AST) -> int:
    """McCabe complexity: 1 + decision points (branches, boolean operands, comprehension ifs)."""
    score = 1
    for child in ast.walk(node):
        if isinstance(child, BRANCHES):
            score += 1
        elif isinstance(child, ast.BoolOp):
            score += len(child.values) - 1
        elif isinstance(child, ast.comprehension):
            score += len(child.ifs)
    return score


def rating(score: int) -> str:
    return "simple" if score <= 5 else "moderate" if score <= 10 else "complex"


class CodeAnalysisAgent(BaseAgent):
    name = "code-analysis"
    input_model = CodeAnalysisRequest

    def process(self, request: CodeAnalysisRequest, llm: LLMSession) -> Answer:
        """Parse the snippet and measure each function's complexity."""
        try:
            tree = ast.parse(request.code)
        except (SyntaxError, MemoryError, RecursionError) as exc:
            # The parser gives up on very deeply nested input with MemoryError/RecursionError.
            reason = (
                f"line {exc.lineno}: {exc.msg}"
                if isinstance(exc, SyntaxError)
                else "nested too deeply to parse"
            )
            reply = llm.ask(rating_prompt(self.name), f"code that does not parse:\n{request.code}")
            output: dict[str, Any] = {"syntax_error": reason, "review": reply.answer}
            return Answer(output, min(reply.confidence, SYNTAX_ERROR_CONFIDENCE_CAP))
        defs = sorted(
            (node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)),
            key=lambda node: node.lineno,
        )
        scores = [complexity(node) for node in defs]
        functions = [
            {"name": node.name, "line": node.lineno, "complexity": score}
            for node, score in zip(defs, scores, strict=True)
        ]
        max_complexity = max(scores, default=complexity(tree))
        output = {
            "lines": len(request.code.splitlines()),
            "classes": sum(isinstance(node, ast.ClassDef) for node in ast.walk(tree)),
            "functions": functions,
            "max_complexity": max_complexity,
            "rating": rating(max_complexity),
        }
        reply = llm.ask(rating_prompt(self.name), f"code:\n{request.code}\nanalysis: {output}")
        return Answer({**output, "review": reply.answer}, reply.confidence)
