"""target_oracle"""
