"""Risk-based pricing and credit limits (千人千面差异化授信及风险定价)."""
